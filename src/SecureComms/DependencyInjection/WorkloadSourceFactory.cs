using System.Security.Cryptography.X509Certificates;
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
        WorkloadCertificateOptions certificate = options.Certificate;
        TimeProvider time = services.GetRequiredService<TimeProvider>();
        ILoggerFactory logs = services.GetRequiredService<ILoggerFactory>();
        const string Key = SecureCommsOptions.SectionName + ":Certificate";
        ILogger logger = logs.CreateLogger("SecureComms.Certificates");
        try
        {
            if (certificate.Pkcs12Path is { } pkcs12)
            {
                return new ReloadingCertificateSource(
                    $"PKCS#12 file '{pkcs12}'", [pkcs12], () => CertificateLoaders.LoadPkcs12(pkcs12, certificate.Pkcs12Password), options.FilePollingInterval, time, logger, services.GetService<SecureCommsMetrics>());
            }

            if (certificate.StoreThumbprint is { } thumbprint)
            {
                StoreName name = Enum.Parse<StoreName>(certificate.StoreName, ignoreCase: true);
                StoreLocation location = Enum.Parse<StoreLocation>(certificate.StoreLocation, ignoreCase: true);
                return new ReloadingCertificateSource(
                    $"store {location}/{name}", [], () => CertificateLoaders.LoadFromStore(name, location, thumbprint), options.FilePollingInterval, time, logger, services.GetService<SecureCommsMetrics>());
            }

            string certificatePath = certificate.CertificatePath!;
            string keyPath = certificate.KeyPath!;
            return new ReloadingCertificateSource(
                $"PEM files '{certificatePath}' and '{keyPath}'",
                [certificatePath, keyPath],
                () => CertificateLoaders.LoadPem(certificatePath, keyPath, certificate.KeyPassword),
                options.FilePollingInterval,
                time,
                logger,
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
