using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// The workload certificate source for the form configured in <see cref="WorkloadCertificateOptions"/>: the one place
/// that turns configuration into a <see cref="ReloadingCertificateSource"/>, used by <c>AddSecureComms</c> and by the
/// tests of each form. See <see cref="ReloadingCertificateSource"/> for the start-up and rotation rules and
/// <see cref="FileChangeMonitor"/> for how file changes are detected.
/// </summary>
internal static class ConfiguredCertificateSource
{
    /// <summary>
    /// Opens the configured form, which start-up validation has checked is exactly one:
    /// <list type="bullet">
    /// <item>A PKCS#12 (.p12/.pfx) file, optionally password-protected, re-read when it changes. The leaf is the
    /// certificate with a private key; the others are intermediates (self-signed roots are left out).</item>
    /// <item>The OS certificate store, by SHA-1 thumbprint (what the stores index by). A renewed certificate has a new
    /// thumbprint, so rotating a store certificate means changing the configured thumbprint (and restarting); the
    /// certificate must be in the store at start-up. The store is still re-read on every polling interval, so a
    /// certificate removed from it (or whose key became unreadable) is reported as a warning on each poll while the
    /// last good one stays in use.</item>
    /// <item>Otherwise PEM files: the certificate (leaf first, then intermediates) and the private key (PKCS#8,
    /// encrypted PKCS#8, SEC1 EC or PKCS#1 RSA), re-read when either changes.</item>
    /// </list>
    /// </summary>
    /// <param name="certificate">The configured form.</param>
    /// <param name="pollingInterval">How often files (or the store) are re-read without a change notification.</param>
    /// <param name="timeProvider">The clock for polling and expiry checks.</param>
    /// <param name="logger">Receives load, rotation and rejection events.</param>
    /// <param name="metrics">Counts rotations refused, when telemetry is registered.</param>
    /// <exception cref="CertificateSourceException">The first load failed; the message names the file or store and the problem.</exception>
    internal static ReloadingCertificateSource Create(
        WorkloadCertificateOptions certificate,
        TimeSpan pollingInterval,
        TimeProvider timeProvider,
        ILogger logger,
        SecureCommsMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (certificate.Pkcs12Path is { } pkcs12)
        {
            return new ReloadingCertificateSource(
                $"PKCS#12 file '{pkcs12}'", [pkcs12], () => CertificateLoaders.LoadPkcs12(pkcs12, certificate.Pkcs12Password), pollingInterval, timeProvider, logger, metrics);
        }

        if (certificate.StoreThumbprint is { } thumbprint)
        {
            StoreName name = Enum.Parse<StoreName>(certificate.StoreName, ignoreCase: true);
            StoreLocation location = Enum.Parse<StoreLocation>(certificate.StoreLocation, ignoreCase: true);
            return new ReloadingCertificateSource(
                $"store {location}/{name}", [], () => CertificateLoaders.LoadFromStore(name, location, thumbprint), pollingInterval, timeProvider, logger, metrics);
        }

        string certificatePath = certificate.CertificatePath!;
        string keyPath = certificate.KeyPath!;
        return new ReloadingCertificateSource(
            $"PEM files '{certificatePath}' and '{keyPath}'",
            [certificatePath, keyPath],
            () => CertificateLoaders.LoadPem(certificatePath, keyPath, certificate.KeyPassword),
            pollingInterval,
            timeProvider,
            logger,
            metrics);
    }
}
