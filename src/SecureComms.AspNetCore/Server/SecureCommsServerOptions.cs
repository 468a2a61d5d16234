namespace SecureComms;

/// <summary>
/// Server-side settings (<c>SecureComms:Server</c>). SecureComms owns Kestrel's listeners: every listener in
/// <see cref="Urls"/> is HTTPS with a required, validated client SVID; plaintext exists only where
/// <see cref="PlaintextEndpoints"/> names it for a purpose. Addresses from <c>ASPNETCORE_URLS</c>/<c>urls</c> are
/// ignored (Kestrel logs that they are overridden).
/// </summary>
public sealed class SecureCommsServerOptions
{
    /// <summary>The default listener used when <see cref="Urls"/> is empty: <c>https://0.0.0.0:8443</c>.</summary>
    public const string DefaultUrl = "https://0.0.0.0:8443";

    /// <summary>
    /// HTTPS addresses to listen on, e.g. <c>https://0.0.0.0:8443</c> or <c>https://127.0.0.1:0</c> (any free port).
    /// The host may be an IP address, <c>localhost</c>, or <c>*</c>/<c>+</c>/<c>0.0.0.0</c> for every interface.
    /// Default: <see cref="DefaultUrl"/>.
    /// </summary>
    public IList<string> Urls { get; } = [];

    /// <summary>
    /// Plaintext listeners opened on purpose, keyed by their purpose (e.g. <c>health</c>):
    /// <c>SecureComms:Server:PlaintextEndpoints:health:Url=http://0.0.0.0:8080</c>. Requests on them have no caller
    /// identity, so only endpoints explicitly opened with <c>AllowAnonymous()</c> answer there, unless
    /// <see cref="ForwardedCertificates"/> trusts a proxy by address: then a certificate that proxy forwards is the
    /// caller's identity, and the listener must be reachable from that proxy only. Default: none.
    /// </summary>
    public IDictionary<string, PlaintextEndpointOptions> PlaintextEndpoints { get; } = new Dictionary<string, PlaintextEndpointOptions>(StringComparer.Ordinal);

    /// <summary>Client certificates forwarded by trusted TLS-terminating proxies. Default: off.</summary>
    public ForwardedCertificateOptions ForwardedCertificates { get; set; } = new();

    /// <summary>Time allowed for a TLS handshake. Default 10 seconds.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>A plaintext listener opened for a named purpose (<c>SecureComms:Server:PlaintextEndpoints:{purpose}</c>).</summary>
public sealed class PlaintextEndpointOptions
{
    /// <summary>The <c>http://</c> address to listen on. Required.</summary>
    public string? Url { get; set; }
}
