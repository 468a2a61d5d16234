namespace SecureComms;

/// <summary>
/// Client certificates forwarded by a TLS-terminating proxy (<c>SecureComms:Server:ForwardedCertificates</c>). A
/// forwarded certificate is used <b>only</b> when the immediate peer is a trusted proxy; from anyone else the header is
/// ignored and logged as a spoofing attempt. The forwarded certificate is validated exactly like a direct one.
/// Default: off (no trusted proxy).
/// </summary>
public sealed class ForwardedCertificateOptions
{
    /// <summary>
    /// The header format: <c>ClientCert</c> (RFC 9440 <c>Client-Cert</c>/<c>Client-Cert-Chain</c>), <c>EnvoyXfcc</c>
    /// (Envoy's <c>x-forwarded-client-cert</c>) or <c>NginxEscapedPem</c> (nginx <c>$ssl_client_escaped_cert</c>).
    /// Default <c>ClientCert</c>.
    /// </summary>
    public ForwardedCertificateHeaderFormat Format { get; set; } = ForwardedCertificateHeaderFormat.ClientCert;

    /// <summary>Header name. Default by format: <c>Client-Cert</c>, <c>x-forwarded-client-cert</c>, <c>X-Client-Cert</c>.</summary>
    public string? HeaderName { get; set; }

    /// <summary>
    /// Who may forward a certificate: SPIFFE ID patterns of proxies that connect with their own SVID
    /// (<c>spiffe://example.org/ingress</c>), or IP addresses and CIDR ranges (<c>127.0.0.1</c>, <c>10.0.0.0/8</c>)
    /// of proxies that connect over a plaintext listener. An address entry never applies to an mTLS connection.
    /// Default: none.
    /// </summary>
    public IList<string> TrustedProxies { get; } = [];

    /// <summary>Longest header accepted, in characters; longer ones are refused before decoding. Default 16384.</summary>
    public int MaxHeaderLength { get; set; } = 16 * 1024;

    internal string EffectiveHeaderName => HeaderName ?? Format switch
    {
        ForwardedCertificateHeaderFormat.EnvoyXfcc => "x-forwarded-client-cert",
        ForwardedCertificateHeaderFormat.NginxEscapedPem => "X-Client-Cert",
        _ => "Client-Cert",
    };
}

/// <summary>How a proxy forwards the client certificate.</summary>
public enum ForwardedCertificateHeaderFormat
{
    /// <summary>RFC 9440 <c>Client-Cert</c> (DER as a structured-field byte sequence), with optional <c>Client-Cert-Chain</c>.</summary>
    ClientCert,

    /// <summary>Envoy's <c>x-forwarded-client-cert</c>; the element appended by the nearest proxy (the last one) is used.</summary>
    EnvoyXfcc,

    /// <summary>nginx <c>$ssl_client_escaped_cert</c>: the URL-encoded PEM of the leaf.</summary>
    NginxEscapedPem,
}
