using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Builds the configured certificate and trust bundle sources. A load failure becomes an
/// <see cref="InvalidOperationException"/> that names the configuration key and the file, which stops start-up.
/// </summary>
internal static class WorkloadSourceFactory
{
    internal static T Resolve<T>(IServiceProvider services)
        where T : notnull => services.GetRequiredService<T>();

    internal static ICertificateSource CreateCertificateSource(IServiceProvider services)
    {
        SecureCommsOptions options = services.GetRequiredService<IOptions<SecureCommsOptions>>().Value;
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
}
