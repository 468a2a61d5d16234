using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// The workload SVID from an OS certificate store, found by SHA-1 thumbprint (what the stores index by).
/// </summary>
/// <remarks>
/// A renewed certificate has a new thumbprint, so rotating a store certificate means changing the configured
/// thumbprint (and restarting). The certificate must be in the store at start-up. The store is still re-read on every
/// polling interval, so a certificate removed from it (or whose key became unreadable) is reported as a warning on
/// each poll while the last good one stays in use.
/// </remarks>
internal sealed class StoreCertificateSource : ICertificateSource, IDisposable
{
    private readonly ReloadingCertificateSource _source;

    /// <exception cref="CertificateSourceException">The first load failed; the message names the store and the problem.</exception>
    public StoreCertificateSource(
        StoreName storeName,
        StoreLocation storeLocation,
        string thumbprint,
        TimeSpan pollingInterval,
        TimeProvider timeProvider,
        ILogger<StoreCertificateSource> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(thumbprint);
        _source = new ReloadingCertificateSource(
            $"store {storeLocation}/{storeName} (thumbprint {CertificateLoaders.NormalizeThumbprint(thumbprint)})",
            [],
            () => CertificateLoaders.LoadFromStore(storeName, storeLocation, thumbprint),
            pollingInterval,
            timeProvider,
            logger);
    }

    public WorkloadCertificate Current => _source.Current;

    public IChangeToken GetChangeToken() => _source.GetChangeToken();

    public void Dispose() => _source.Dispose();
}
