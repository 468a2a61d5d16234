using System.Buffers.Text;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>
/// This workload's X.509-SVID: the leaf certificate with its private key, the intermediates to present with it,
/// and values derived once (SPIFFE ID, SHA-256 thumbprint) so hot paths never recompute them.
/// </summary>
public sealed class WorkloadCertificate
{
    private SslStreamCertificateContext? _context;

    /// <summary>Wraps a leaf certificate that has a private key, and its intermediates (leaf first order not required).</summary>
    /// <exception cref="ArgumentException">The leaf has no private key or carries no single SPIFFE ID URI SAN.</exception>
    public WorkloadCertificate(X509Certificate2 certificate, X509Certificate2Collection? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("The workload certificate has no private key.", nameof(certificate));
        }

        if (!SvidInspector.TryGetSpiffeId(certificate, out SpiffeId id, out string? error))
        {
            throw new ArgumentException($"The workload certificate is not an X.509-SVID: {error}", nameof(certificate));
        }

        Certificate = certificate;
        Intermediates = intermediates ?? [];
        SpiffeId = id;
        Sha256Thumbprint = CertificateBinding.Thumbprint(certificate);
    }

    /// <summary>The leaf certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Intermediate CA certificates sent with the leaf; may be empty.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>The SPIFFE ID in the leaf's URI SAN.</summary>
    public SpiffeId SpiffeId { get; }

    /// <summary>Base64url SHA-256 of the leaf's DER: the <c>x5t#S256</c> value of RFC 8705 §3.1.</summary>
    public string Sha256Thumbprint { get; }

    /// <summary>Start of validity.</summary>
    public DateTimeOffset NotBefore => new(Certificate.NotBefore.ToUniversalTime());

    /// <summary>End of validity.</summary>
    public DateTimeOffset NotAfter => new(Certificate.NotAfter.ToUniversalTime());

    /// <summary>
    /// One <see cref="SslStreamCertificateContext"/> per certificate, built once (offline: no AIA fetch) and reused
    /// by every connection, which is what lets the platform reuse TLS contexts and resume sessions.
    /// </summary>
    internal SslStreamCertificateContext SslContext =>
        _context ??= SslStreamCertificateContext.Create(Certificate, Intermediates, offline: true);

    /// <summary>Whether <see cref="SslContext"/> has been built (for diagnostics and tests).</summary>
    internal bool HasSslContext => Volatile.Read(ref _context) is not null;
}
