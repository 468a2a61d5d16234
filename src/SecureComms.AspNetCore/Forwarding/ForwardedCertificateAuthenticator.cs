using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// Authenticates a request by the client certificate a TLS-terminating proxy forwarded in a header
/// (<see cref="ForwardedCertificateOptions"/>). The header counts only when the immediate peer is a trusted proxy: by its
/// SPIFFE ID on an mTLS connection, by its address on a plaintext one. From anyone else it is ignored and logged as a
/// possible spoofing attempt. A forwarded certificate is validated exactly like a direct client certificate. Built once
/// (the trusted proxies compiled once), used by <see cref="SecureCommsAuthenticationHandler"/> on every request.
/// </summary>
internal sealed class ForwardedCertificateAuthenticator
{
    private readonly string _headerName;
    private readonly ForwardedCertificateHeaderFormat _format;
    private readonly int _maxHeaderLength;
    private readonly TrustedProxies? _proxies;
    private readonly PeerCertificateValidator _validator;
    private readonly ITrustBundleSource _trustBundles;
    private readonly TimeProvider _timeProvider;
    private readonly ForwardedCertificateVerdicts _verdicts = new();
    private readonly ILogger _logger;

    /// <summary>The verdicts kept now (for tests and the soak run).</summary>
    internal int KeptVerdicts => _verdicts.Count;

    /// <param name="options">The forwarded-certificate settings (validated at start-up).</param>
    /// <param name="validator">Validates the forwarded certificate as an X.509-SVID.</param>
    /// <param name="trustBundles">The bundles <paramref name="validator"/> reads: a kept verdict holds only for the snapshot it was made against.</param>
    /// <param name="timeProvider">The clock a kept verdict's expiry is compared with.</param>
    /// <param name="logger">Receives the spoofing and refusal events (1204, 1205).</param>
    public ForwardedCertificateAuthenticator(
        ForwardedCertificateOptions options, PeerCertificateValidator validator, ITrustBundleSource trustBundles, TimeProvider timeProvider, ILogger logger)
    {
        _headerName = options.EffectiveHeaderName;
        _format = options.Format;
        _maxHeaderLength = options.MaxHeaderLength;
        _proxies = TrustedProxies.TryCompile(options.TrustedProxies, out TrustedProxies? proxies, [], string.Empty) && !proxies.IsEmpty ? proxies : null;
        _validator = validator;
        _trustBundles = trustBundles;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>
    /// Applies the forwarded certificate header of <paramref name="context"/>'s request, if it has one. From a trusted
    /// proxy, the forwarded certificate and its verdict replace <paramref name="certificate"/> and
    /// <paramref name="result"/> (those of the proxy's own connection); from anyone else the header is ignored.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <param name="certificate">The connection's client certificate, if any; on return the certificate to authenticate.</param>
    /// <param name="result">The verdict on <paramref name="certificate"/>; on return the verdict to authenticate by.</param>
    /// <returns>
    /// <see langword="null"/> to go on with <paramref name="certificate"/> and <paramref name="result"/>, or the failure
    /// when a trusted proxy's header holds no usable certificate (its reason also set as
    /// <see cref="SecureCommsAuthenticationHandler.PeerFailureItem"/>).
    /// </returns>
    public AuthenticateResult? Apply(HttpContext context, ref X509Certificate2? certificate, ref SvidValidationResult? result)
    {
        HttpRequest request = context.Request;
        if (!request.Headers.TryGetValue(_headerName, out StringValues header))
        {
            return null;
        }

        bool trusted = _proxies is not null && (certificate is null
            ? _proxies.TrustsAddress(context.Connection.RemoteIpAddress)
            : result!.IsValid && _proxies.TrustsIdentity(result.SpiffeId));
        string peer = certificate is null ? context.Connection.RemoteIpAddress?.ToString() ?? "(unknown)" : result!.SpiffeId.ToString();
        if (!trusted)
        {
            ServerLog.ForwardedCertificateSpoofing(_logger, peer);
            return null;
        }

        StringValues chainHeader = _format == ForwardedCertificateHeaderFormat.ClientCert ? request.Headers["Client-Cert-Chain"] : default;
        Sha256Key key = KeyOf(header, chainHeader);
        TrustBundleSet bundles = _trustBundles.Current;
        DateTimeOffset now = _timeProvider.GetUtcNow();
        if (_verdicts.TryGet(key, bundles, now, out X509Certificate2? known, out SvidValidationResult? knownResult))
        {
            certificate = known;
            result = knownResult;
            return null;
        }

        ForwardedCertificateResult forwarded = ForwardedCertificateParser.Parse(Map(_format), header, chainHeader.Count == 0 ? null : chainHeader.ToString(), _maxHeaderLength);
        if (forwarded.Certificate is null)
        {
            ServerLog.ForwardedCertificateRejected(_logger, peer, forwarded.Failure ?? "NoCertificate");
            context.Items[SecureCommsAuthenticationHandler.PeerFailureItem] = "ForwardedCertificate" + (forwarded.Failure ?? "NoCertificate");
            return AuthenticateResult.Fail($"forwarded certificate: {forwarded.Failure}");
        }

        // Validated exactly like a direct client certificate.
        certificate = forwarded.Certificate;
        result = _validator.Validate(certificate, forwarded.Chain, PeerSide.Client);
        _verdicts.Add(key, bundles, certificate, result, now);
        return null;
    }

    // The one value of the usual request as it is (no copy); otherwise every value of both headers, each ended by a NUL,
    // which no header value holds: two requests share a key only when they forwarded the same values.
    private static Sha256Key KeyOf(StringValues header, StringValues chainHeader)
    {
        if (header.Count == 1 && chainHeader.Count == 0)
        {
            return Sha256Key.Of(header[0]);
        }

        var text = new System.Text.StringBuilder();
        foreach (string? value in header)
        {
            text.Append(value).Append('\0');
        }

        text.Append('\0');
        foreach (string? value in chainHeader)
        {
            text.Append(value).Append('\0');
        }

        return Sha256Key.Of(text.ToString());
    }

    private static ForwardedCertificateFormat Map(ForwardedCertificateHeaderFormat format) => format switch
    {
        ForwardedCertificateHeaderFormat.EnvoyXfcc => ForwardedCertificateFormat.EnvoyXfcc,
        ForwardedCertificateHeaderFormat.NginxEscapedPem => ForwardedCertificateFormat.NginxEscapedPem,
        _ => ForwardedCertificateFormat.ClientCertHeader,
    };
}
