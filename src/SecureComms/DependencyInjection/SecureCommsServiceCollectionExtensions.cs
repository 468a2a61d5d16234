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

        services.AddSingleton(new SecureCommsCoreMarker());
        services.AddOptions<SecureCommsOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecureCommsOptions>, SecureCommsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddLogging();
        services.AddMetrics();
        services.TryAddSingleton<SecureCommsMetrics>();
        services.TryAddSingleton<CertificateTelemetry>();
        services.AddHttpClient();
        services.TryAddSingleton<ICertificateSource>(sp => WorkloadSourceFactory.CreateCertificateSource(sp));
        services.TryAddSingleton<ITrustBundleSource>(sp => WorkloadSourceFactory.CreateTrustBundleSource(sp));
        services.TryAddSingleton(sp => new PeerCertificateValidator(sp.GetRequiredService<ITrustBundleSource>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<TokenProviderRegistry>();
        services.TryAddSingleton<UserContextMinter>();
        services.TryAddSingleton<UserContextValidator>();
        services.TryAddSingleton<CertificateExpiryMonitor>();
        services.TryAddSingleton<CertificateHealthCheck>();
        services.TryAddSingleton<TrustBundleHealthCheck>();
        services.TryAddSingleton<TokenEndpointHealthCheck>();
        services.AddHealthChecks()
            .AddCheck<CertificateHealthCheck>(SecureCommsHealthChecks.Certificate, tags: [SecureCommsHealthChecks.Tag])
            .AddCheck<TrustBundleHealthCheck>(SecureCommsHealthChecks.TrustBundles, tags: [SecureCommsHealthChecks.Tag])
            .AddCheck<TokenEndpointHealthCheck>(SecureCommsHealthChecks.TokenEndpoints, tags: [SecureCommsHealthChecks.Tag]);
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

    /// <summary>Whether <paramref name="configuration"/> was already bound by an earlier call.</summary>
    internal static bool IsBound(IServiceCollection services, IConfiguration configuration) =>
        services.Any(d => d.ServiceType == typeof(SecureCommsCoreMarker)) && GetMarker(services).BoundConfigurations.Contains(configuration);

    private static SecureCommsCoreMarker GetMarker(IServiceCollection services) =>
        (SecureCommsCoreMarker)services.First(d => d.ServiceType == typeof(SecureCommsCoreMarker)).ImplementationInstance!;
}
