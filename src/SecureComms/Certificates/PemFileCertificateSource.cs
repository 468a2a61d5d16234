using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// The workload SVID from a PEM certificate file (leaf first, then intermediates) and a PEM private key file
/// (PKCS#8, encrypted PKCS#8, SEC1 EC or PKCS#1 RSA), re-read when either file changes. See
/// <see cref="ReloadingCertificateSource"/> for the start-up and rotation rules and <see cref="FileChangeMonitor"/>
/// for how changes are detected.
/// </summary>
internal sealed class PemFileCertificateSource : ICertificateSource, IDisposable
{
    private readonly ReloadingCertificateSource _source;

    /// <exception cref="CertificateSourceException">The first load failed; the message names the file and the problem.</exception>
    public PemFileCertificateSource(
        string certificatePath,
        string keyPath,
        string? keyPassword,
        TimeSpan pollingInterval,
        TimeProvider timeProvider,
        ILogger<PemFileCertificateSource> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        ArgumentException.ThrowIfNullOrEmpty(keyPath);
        _source = new ReloadingCertificateSource(
            $"PEM files '{certificatePath}' and '{keyPath}'",
            [certificatePath, keyPath],
            () => CertificateLoaders.LoadPem(certificatePath, keyPath, keyPassword),
            pollingInterval,
            timeProvider,
            logger);
    }

    public WorkloadCertificate Current => _source.Current;

    public IChangeToken GetChangeToken() => _source.GetChangeToken();

    public void Dispose() => _source.Dispose();
}
