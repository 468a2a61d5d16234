namespace SecureComms;

/// <summary>
/// Opaque access tokens (<c>SecureComms:TokenValidation:Introspection</c>): a bearer token that is not a JWS
/// (RFC 7515 compact form: three base64url parts) is sent to the authorization server's RFC 7662 introspection endpoint
/// over mutual TLS, this service authenticating with its own SVID (<c>tls_client_auth</c>, RFC 8705 §2.1). The answer
/// must say <c>active</c>, carry <c>exp</c> and an <c>aud</c> holding
/// <see cref="SecureCommsTokenValidationOptions.Audience"/>, and its <c>cnf.x5t#S256</c> (RFC 8705 §3.2) must be the
/// caller's certificate. Requires <see cref="SecureCommsTokenValidationOptions.Authority"/>; the endpoint's server is
/// checked as the metadata and JWKS calls check theirs (<see cref="SecureCommsTokenValidationOptions.ExpectedServer"/>
/// or <see cref="SecureCommsTokenValidationOptions.ServerCaBundlePath"/>).
/// </summary>
public sealed class SecureCommsIntrospectionOptions
{
    /// <summary>Accept opaque tokens by introspection. Default false: a token that is not a JWT is refused as <c>MalformedToken</c>.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The introspection endpoint (absolute https). Default: from the authority's metadata, its
    /// <c>mtls_endpoint_aliases.introspection_endpoint</c> (RFC 8705 §5) or else its <c>introspection_endpoint</c>
    /// (RFC 8414 §2).
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>This service's client id at the authorization server, sent as <c>client_id</c> (RFC 8705 §2). Required.</summary>
    public string? ClientId { get; set; }

    /// <summary>
    /// The longest an active answer is reused, even when the token's <c>exp</c> is later: how long a token revoked at the
    /// authorization server may still be accepted here (RFC 7662 §4). Default 5 minutes.
    /// </summary>
    public TimeSpan MaxCacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an inactive or refused answer is reused, so that a replayed bad token does not reach the server on every request. Default 10 seconds.</summary>
    public TimeSpan NegativeCacheDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many answers (keyed by the SHA-256 of the token, never the token) are remembered. Default 10 000.</summary>
    public int MaxCacheEntries { get; set; } = 10_000;

    /// <summary>How long one introspection call may take before the request is refused (<c>IntrospectionUnavailable</c>). Default 5 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
