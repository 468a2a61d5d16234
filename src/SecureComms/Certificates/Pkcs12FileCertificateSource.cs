using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// The workload SVID from a PKCS#12 (.p12/.pfx) file, optionally password-protected, re-read when it changes. The
/// leaf is the certificate with a private key; the others are intermediates (self-signed roots are left out). See
/// <see cref="ReloadingCertificateSource"/> for the start-up and rotation rules.
/// </summary>
internal sealed class Pkcs12FileCertificateSource : ICertificateSource, IDisposable
{
    private readonly ReloadingCertificateSource _source;

    /// <exception cref="CertificateSourceException">The first load failed; the message names the file and the problem.</exception>
    public Pkcs12FileCertificateSource(
        string path,
        string? password,
        TimeSpan pollingInterval,
        TimeProvider timeProvider,
        ILogger<Pkcs12FileCertificateSource> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _source = new ReloadingCertificateSource(
            $"PKCS#12 file '{path}'", [path], () => CertificateLoaders.LoadPkcs12(path, password), pollingInterval, timeProvider, logger);
    }

    public WorkloadCertificate Current => _source.Current;

    public IChangeToken GetChangeToken() => _source.GetChangeToken();

    public void Dispose() => _source.Dispose();
}
