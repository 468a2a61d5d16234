using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Builds the configured certificate and trust bundle sources: files, or one <see cref="WorkloadApiX509Source"/> serving
/// both when <see cref="WorkloadApiSelection"/> selects the SPIFFE Workload API. A load failure becomes an
/// <see cref="InvalidOperationException"/> that names the configuration key and the file, which stops start-up.
/// </summary>
internal static class WorkloadSourceFactory
{
    internal static T Resolve<T>(IServiceProvider services)
        where T : notnull => services.GetRequiredService<T>();

    internal static ICertificateSource CreateCertificateSource(IServiceProvider services)
    {
        SecureCommsOptions options = services.GetRequiredService<IOptions<SecureCommsOptions>>().Value;
        if (WorkloadApiSelection.UsesWorkloadApi(options, services.GetRequiredService<WorkloadApiEnvironment>()))
        {
            return services.GetRequiredService<WorkloadApiX509Source>();
        }

        const string Key = SecureCommsOptions.SectionName + ":Certificate";
        try
        {
            return ConfiguredCertificateSource.Create(
                options.Certificate,
                options.FilePollingInterval,
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILoggerFactory>().CreateLogger("SecureComms.Certificates"),
                services.GetService<SecureCommsMetrics>());
        }
        catch (CertificateSourceException ex)
        {
            throw new InvalidOperationException($"{Key}: {ex.Message}", ex);
        }
    }

    internal static ITrustBundleSource CreateTrustBundleSource(IServiceProvider services)
    {
        SecureCommsOptions options = services.GetRequiredService<IOptions<SecureCommsOptions>>().Value;
        if (WorkloadApiSelection.UsesWorkloadApi(options, services.GetRequiredService<WorkloadApiEnvironment>()))
        {
            return services.GetRequiredService<WorkloadApiX509Source>(); // the same instance as the certificate source
        }

        var files = new List<TrustBundleFile>(options.TrustBundles.Count);
        foreach ((string trustDomain, TrustBundleOptions bundle) in options.TrustBundles)
        {
            files.Add(new TrustBundleFile(TrustDomain.Parse(trustDomain), bundle.Path!, bundle.Format));
        }

        try
        {
            return new FileTrustBundleSource(
                files,
                options.FilePollingInterval,
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILoggerFactory>().CreateLogger<FileTrustBundleSource>());
        }
        catch (TrustBundleException ex)
        {
            string key = ex.TrustDomain is { } domain ? $"TrustBundles:{domain.Name}:Path" : "TrustBundles";
            throw new InvalidOperationException($"{SecureCommsOptions.SectionName}:{key}: {ex.Message}", ex);
        }
    }

    /// <summary>The one channel to the agent, shared by every Workload API stream of this process.</summary>
    internal static WorkloadApiConnection CreateWorkloadApiConnection(IServiceProvider services)
    {
        WorkloadApiOptions options = services.GetRequiredService<IOptions<SecureCommsOptions>>().Value.WorkloadApi;
        WorkloadApiEnvironment environment = services.GetRequiredService<WorkloadApiEnvironment>();
        string? address = WorkloadApiSelection.ResolveAddress(options, environment);
        if (!WorkloadApiEndpoint.TryParse(address, out WorkloadApiEndpoint? endpoint, out string? error))
        {
            throw new InvalidOperationException($"{WorkloadApiSelection.AddressSourceName(options)}: {error}.");
        }

        return new WorkloadApiConnection(endpoint, services.GetRequiredService<ILoggerFactory>());
    }

    /// <summary>The X.509 source over <see cref="WorkloadApiConnection"/>; logs which file settings it makes unused (event 1805).</summary>
    internal static WorkloadApiX509Source CreateWorkloadApiSource(IServiceProvider services)
    {
        SecureCommsOptions options = services.GetRequiredService<IOptions<SecureCommsOptions>>().Value;
        WorkloadApiEnvironment environment = services.GetRequiredService<WorkloadApiEnvironment>();
        ILogger logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("SecureComms.WorkloadApi");
        List<string> ignored = WorkloadApiSelection.IgnoredFileSettings(options);
        if (ignored.Count > 0)
        {
            WorkloadApiLog.FileSettingsIgnored(logger, ignored);
        }

        return new WorkloadApiX509Source(
            services.GetRequiredService<WorkloadApiConnection>(),
            options.WorkloadApi,
            WorkloadApiSelection.DescribeAddress(options.WorkloadApi, environment),
            services.GetRequiredService<TimeProvider>(),
            logger,
            services.GetService<SecureCommsMetrics>());
    }
}
