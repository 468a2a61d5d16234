namespace SecureComms;

/// <summary>
/// Access-token validation on the receiving side (<c>SecureComms:TokenValidation</c>). When <see cref="Authority"/> is
/// set, every request must carry a JWT access token (RFC 9068) that the authority issued for <see cref="Audience"/>
/// and that is bound to the caller's TLS client certificate (RFC 8705 §3); all of it is checked before any handler.
/// With <see cref="AcceptJwtSvids"/>, a JWT-SVID from the SPIFFE Workload API is accepted too (or, without
/// <see cref="Authority"/>, required).
/// </summary>
public sealed class SecureCommsTokenValidationOptions
{
    /// <summary>The issuer URL (https). Its metadata gives the signing keys (JWKS). Default none: tokens are not validated.</summary>
    public Uri? Authority { get; set; }

    /// <summary>The exact expected <c>iss</c>. Default: the issuer named by the metadata.</summary>
    public string? Issuer { get; set; }

    /// <summary>This service's resource identifier; <c>aud</c> must contain it. Required with <see cref="Authority"/>.</summary>
    public string? Audience { get; set; }

    /// <summary>
    /// Accepted signing algorithms. Default <c>ES256, ES384, PS256, RS256</c>. <c>none</c> and HMAC algorithms are never
    /// accepted: a public key must never double as a shared secret.
    /// </summary>
    public IList<string> Algorithms { get; } = [];

    /// <summary>Require the JWT header <c>typ</c> <c>at+jwt</c> (RFC 9068 §4). Default true.</summary>
    public bool RequireAccessTokenType { get; set; } = true;

    /// <summary>Reject tokens without <c>cnf.x5t#S256</c> (RFC 8705 §3). Default true.</summary>
    public bool RequireCertificateBinding { get; set; } = true;

    /// <summary>Allowed clock difference for <c>exp</c>/<c>nbf</c>; at most 5 minutes. Default 30 seconds.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The least time between two signing-key refreshes triggered by an unknown <c>kid</c>, so a flood of made-up key
    /// ids cannot hammer the issuer. Default 1 minute.
    /// </summary>
    public TimeSpan KeyRefreshMinInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>SPIFFE ID pattern of the authorization server for the metadata/JWKS calls; without it the system trust store and host name are checked.</summary>
    public string? ExpectedServer { get; set; }

    /// <summary>
    /// For an authorization server whose certificate comes from an internal CA: a PEM file with that CA's
    /// certificate(s); the metadata and JWKS calls then accept only a server certificate chaining to one of them that
    /// names the host of <see cref="Authority"/>. A missing or unreadable file fails start-up. Cannot be combined with
    /// <see cref="ExpectedServer"/>. Default none (system trust store).
    /// </summary>
    public string? ServerCaBundlePath { get; set; }

    /// <summary>How many validated tokens are remembered (keyed by a hash, never past <c>exp</c>); 0 disables. Default 10 000.</summary>
    public int ValidatedTokenCacheSize { get; set; } = 10_000;

    /// <summary>
    /// Accept JWT-SVIDs (SPIFFE JWT-SVID spec) as bearer tokens, validated here against the JWT bundles the SPIFFE
    /// Workload API streams (<c>SecureComms:WorkloadApi:Socket</c>), by the trust domain of the token's <c>sub</c> and its
    /// <c>kid</c>; algorithms RS256/384/512, ES256/384/512 and PS256/384/512 only (JWT-SVID §3); <c>aud</c> must contain
    /// <see cref="JwtSvidAudience"/>; <c>exp</c> is required. Without <see cref="Authority"/>, every request must carry
    /// a JWT-SVID; with it, a token is taken for a JWT-SVID when its <c>sub</c> is a SPIFFE ID, it carries no
    /// <c>cnf</c>, its <c>typ</c> is not <c>at+jwt</c> and its <c>iss</c> is not the authority's; any other token is
    /// validated as an access token. <see cref="RequireCertificateBinding"/> does not apply to JWT-SVIDs (they are never
    /// bound); <see cref="RequireJwtSvidSubjectIsCaller"/> takes its place. Default false.
    /// </summary>
    public bool AcceptJwtSvids { get; set; }

    /// <summary>This service's audience for JWT-SVIDs; <c>aud</c> must contain it. Required with <see cref="AcceptJwtSvids"/>.</summary>
    public string? JwtSvidAudience { get; set; }

    /// <summary>
    /// Accept a JWT-SVID only from the workload it names: its <c>sub</c> must equal the SPIFFE ID the caller proved with
    /// its client certificate (or the trusted forwarded certificate), else 401 <c>JwtSvidSubjectIsNotCaller</c>. A
    /// JWT-SVID is not bound to a certificate, so without this rule one replayed by another workload would be accepted.
    /// Default true.
    /// </summary>
    public bool RequireJwtSvidSubjectIsCaller { get; set; } = true;

    /// <summary>Opaque access tokens, validated by RFC 7662 introspection at the authorization server. Default off.</summary>
    public SecureCommsIntrospectionOptions Introspection { get; set; } = new();

    /// <summary>Whether every request must carry a token (an access token or, when accepted, a JWT-SVID).</summary>
    internal bool TokensRequired => Authority is not null || AcceptJwtSvids;

    internal static readonly string[] DefaultAlgorithms = ["ES256", "ES384", "PS256", "RS256"];

    internal IEnumerable<string> EffectiveAlgorithms => Algorithms.Count > 0 ? Algorithms : DefaultAlgorithms;
}
