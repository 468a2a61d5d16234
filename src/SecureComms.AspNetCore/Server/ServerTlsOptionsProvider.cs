using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// Hands Kestrel the <see cref="SslServerAuthenticationOptions"/> of each TLS handshake: the current workload SVID
/// (one cached <see cref="SslStreamCertificateContext"/> per certificate, so TLS contexts are reused and sessions
/// resume), a required client certificate validated as an X.509-SVID, and TLS 1.2/1.3 only. A rotated certificate
/// is used by the next handshake, without a restart.
/// </summary>
internal sealed class ServerTlsOptionsProvider
{
    private static readonly List<SslApplicationProtocol> ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    private readonly ICertificateSource _certificates;
    private readonly PeerCertificateValidator _validator;
    private readonly ILogger _logger;
    private readonly SecureCommsServerMetrics _metrics;
    private readonly ConditionalWeakTable<X509Certificate, SvidValidationResult> _handshakeResults = new();
    private CachedOptions? _cached;

    public ServerTlsOptionsProvider(ICertificateSource certificates, PeerCertificateValidator validator, SecureCommsServerMetrics metrics, ILogger<ServerTlsOptionsProvider> logger)
    {
        _metrics = metrics;
        _certificates = certificates;
        _validator = validator;
        _logger = logger;
    }

    /// <summary>Options for the next handshake; the same instance until the certificate rotates.</summary>
    public SslServerAuthenticationOptions GetOptions()
    {
        WorkloadCertificate certificate = _certificates.Current;
        CachedOptions? cached = Volatile.Read(ref _cached);
        if (cached is not null && ReferenceEquals(cached.Certificate, certificate))
        {
            return cached.Options;
        }

        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate.SslContext,
            ClientCertificateRequired = true,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,

            // SVIDs are short-lived and SPIFFE has no revocation; the platform's own chain verdict is not used.
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = OfflinePlatformChainPolicy.Create(),
            RemoteCertificateValidationCallback = ValidateClientCertificate,
            ApplicationProtocols = ApplicationProtocols,
        };
        if (cached is not null)
        {
            ServerLog.ServingRotatedCertificate(_logger, certificate.SpiffeId, certificate.NotAfter);
        }

        Volatile.Write(ref _cached, new CachedOptions(certificate, options));
        return options;
    }

    /// <summary>
    /// The verdict reached during the handshake for this exact certificate instance, so the per-request path never
    /// rebuilds the chain. Returns false when the certificate did not come through this provider's handshake.
    /// </summary>
    public bool TryGetHandshakeResult(X509Certificate certificate, out SvidValidationResult? result) =>
        _handshakeResults.TryGetValue(certificate, out result);

    /// <summary>
    /// How many handshake verdicts are held (for tests): the table holds each connection's certificate object weakly,
    /// so a verdict lives as long as its connection does.
    /// </summary>
    internal int RememberedHandshakes => _handshakeResults.Count();

    private bool ValidateClientCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            ServerLog.HandshakeRejected(_logger, SvidValidationFailure.NoCertificate, "the caller presented no client certificate.");
            _metrics.PeerCertificateRefused(SvidValidationFailure.NoCertificate, PeerSide.Client);
            return false;
        }

        SvidValidationResult result = _validator.Validate(certificate as X509Certificate2, chain?.ChainPolicy.ExtraStore, PeerSide.Client);
        if (!result.IsValid)
        {
            ServerLog.HandshakeRejected(_logger, result.Failure, result.Detail ?? string.Empty);
            _metrics.PeerCertificateRefused(result.Failure, PeerSide.Client);
            return false;
        }

        _handshakeResults.AddOrUpdate(certificate, result);
        return true;
    }

    private sealed record CachedOptions(WorkloadCertificate Certificate, SslServerAuthenticationOptions Options);
}
