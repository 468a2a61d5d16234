using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Registers SecureComms' core: workload certificate, trust bundles, peer validation and the mutual-TLS
/// <c>HttpClient</c>s configured under <c>SecureComms:Clients</c>. ASP.NET Core services call <c>AddSecureComms</c>
/// from <c>SecureComms.AspNetCore</c> instead, which includes this and the server side.
/// </summary>
public static class SecureCommsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the core services, bound from the <c>SecureComms</c> section of <paramref name="configuration"/>,
    /// and registers every client under <c>SecureComms:Clients</c> with <c>IHttpClientFactory</c>. Calling it twice is harmless.
    /// </summary>
    public static ISecureCommsBuilder AddSecureCommsCore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ISecureCommsBuilder builder = services.AddSecureCommsCore();
        SecureCommsCoreMarker marker = GetMarker(services);
        if (!marker.BoundConfigurations.Add(configuration))
        {
            return builder;
        }

        IConfigurationSection section = configuration.GetSection(SecureCommsOptions.SectionName);
        services.AddOptions<SecureCommsOptions>().Bind(section);
        foreach (IConfigurationSection client in section.GetSection("Clients").GetChildren())
        {
            if (marker.ConfiguredClients.Add(client.Key))
            {
                services.AddHttpClient(client.Key).AddSecureComms();
            }
        }

        return builder;
    }

    /// <summary>Adds the core services configured in code. Calling it twice is harmless.</summary>
    public static ISecureCommsBuilder AddSecureCommsCore(this IServiceCollection services, Action<SecureCommsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        ISecureCommsBuilder builder = services.AddSecureCommsCore();
        services.Configure(configure);
        return builder;
    }

    /// <summary>Adds the core services with no configuration source (configure <see cref="SecureCommsOptions"/> yourself).</summary>
    public static ISecureCommsBuilder AddSecureCommsCore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new SecureCommsBuilder(services);
        if (services.Any(d => d.ServiceType == typeof(SecureCommsCoreMarker)))
        {
            return builder;
        }

        var marker = new SecureCommsCoreMarker();
        services.AddSingleton(marker);

        // Validated at start-up (all problems at once, start-up fails). Requests, connections and tokens read the last
        // good snapshot, never IOptionsMonitor.CurrentValue: a bad edit is refused with a warning instead of throwing.
        services.AddOptions<SecureCommsOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecureCommsOptions>, SecureCommsOptionsValidator>(
            sp => new SecureCommsOptionsValidator(sp.GetService<WorkloadApiEnvironment>() ?? WorkloadApiEnvironment.Process)));
        services.TryAddSingleton(TimeProvider.System);
        services.AddLogging();
        services.AddMetrics();
        services.TryAddSingleton<SecureCommsMetrics>();
        services.TryAddSingleton(sp => new ConfigurationFileWatch(
            marker.BoundConfigurations.OfType<IConfiguration>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(), sp.GetRequiredService<SecureCommsMetrics>()));
        services.TryAddSingleton(CreateSettings);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILastGoodOptions, LastGoodOptions<SecureCommsOptions>>(sp => sp.GetRequiredService<LastGoodOptions<SecureCommsOptions>>()));
        services.TryAddSingleton<CertificateTelemetry>();
        services.AddHttpClient();
        services.TryAddSingleton(WorkloadApiEnvironment.Process);
        services.TryAddSingleton(sp => WorkloadSourceFactory.CreateWorkloadApiConnection(sp));
        services.TryAddSingleton(sp => WorkloadSourceFactory.CreateWorkloadApiSource(sp));
        services.TryAddSingleton<ICertificateSource>(sp => WorkloadSourceFactory.CreateCertificateSource(sp));
        services.TryAddSingleton<ITrustBundleSource>(sp => WorkloadSourceFactory.CreateTrustBundleSource(sp));
        services.TryAddSingleton(sp => new PeerCertificateValidator(sp.GetRequiredService<ITrustBundleSource>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<TokenProviderRegistry>();

        // The JWT bundles share the one Workload API connection; created only when JWT-SVIDs are accepted.
        services.TryAddSingleton(sp => new WorkloadApiJwtBundleSource(
            sp.GetRequiredService<WorkloadApiConnection>(),
            sp.GetRequiredService<IOptions<SecureCommsOptions>>().Value.WorkloadApi,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().CreateLogger("SecureComms.WorkloadApi")));
        services.TryAddSingleton<UserContextMinter>();
        services.TryAddSingleton<UserContextValidator>();
        services.TryAddSingleton<CertificateExpiryMonitor>();
        services.TryAddSingleton<CertificateHealthCheck>();
        services.TryAddSingleton<TrustBundleHealthCheck>();
        services.TryAddSingleton<TokenEndpointHealthCheck>();
        services.TryAddSingleton<WorkloadApiHealthCheck>();
        services.AddHealthChecks()
            .AddCheck<CertificateHealthCheck>(SecureCommsHealthChecks.Certificate, tags: [SecureCommsHealthChecks.Tag])
            .AddCheck<TrustBundleHealthCheck>(SecureCommsHealthChecks.TrustBundles, tags: [SecureCommsHealthChecks.Tag])
            .AddCheck<TokenEndpointHealthCheck>(SecureCommsHealthChecks.TokenEndpoints, tags: [SecureCommsHealthChecks.Tag])
            .AddCheck<WorkloadApiHealthCheck>(SecureCommsHealthChecks.WorkloadApi, tags: [SecureCommsHealthChecks.Tag]);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SecureCommsStartupCheck>());
        return builder;
    }

    /// <summary>Uses <paramref name="source"/> for the workload's own certificate instead of configured files.</summary>
    public static ISecureCommsBuilder UseCertificateSource(this ISecureCommsBuilder builder, ICertificateSource source)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(source);
        builder.Services.Replace(ServiceDescriptor.Singleton(source));
        builder.Services.Configure<SecureCommsOptions>(o => o.HasCustomCertificateSource = true);
        return builder;
    }

    /// <summary>Uses <paramref name="source"/> for trust bundles instead of configured files.</summary>
    public static ISecureCommsBuilder UseTrustBundleSource(this ISecureCommsBuilder builder, ITrustBundleSource source)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(source);
        builder.Services.Replace(ServiceDescriptor.Singleton(source));
        builder.Services.Configure<SecureCommsOptions>(o => o.HasCustomTrustBundleSource = true);
        return builder;
    }

    /// <summary>
    /// The last good <see cref="SecureCommsOptions"/> (clients, health): what a reload may change takes effect for new
    /// handlers and clients, and a bad edit is refused. A client configured at start-up cannot disappear on a reload: its
    /// named <c>HttpClient</c> is registered once, so removing it needs a restart.
    /// </summary>
    private static LastGoodOptions<SecureCommsOptions> CreateSettings(IServiceProvider services)
    {
        HashSet<string>? clients = null;
        return LastGoodOptions<SecureCommsOptions>.Create<SecureCommsOptions>(services, SecureCommsOptions.SectionName, (options, errors) =>
        {
            if (clients is null)
            {
                clients = new HashSet<string>(options.Clients.Keys, StringComparer.Ordinal);
                return options;
            }

            foreach (string name in clients)
            {
                if (!options.Clients.ContainsKey(name))
                {
                    errors.Add($"{SecureCommsOptions.SectionName}:Clients:{name} was removed: clients are registered at start-up, so removing one takes a restart.");
                }
            }

            return options;
        });
    }

    /// <summary>Whether <paramref name="configuration"/> was already bound by an earlier call.</summary>
    internal static bool IsBound(IServiceCollection services, IConfiguration configuration) =>
        services.Any(d => d.ServiceType == typeof(SecureCommsCoreMarker)) && GetMarker(services).BoundConfigurations.Contains(configuration);

    private static SecureCommsCoreMarker GetMarker(IServiceCollection services) =>
        (SecureCommsCoreMarker)services.First(d => d.ServiceType == typeof(SecureCommsCoreMarker)).ImplementationInstance!;
}
