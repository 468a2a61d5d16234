namespace SecureComms;

/// <summary>How a SecureComms client authenticates to the token endpoint (RFC 8705 §2, RFC 7523).</summary>
public enum TokenClientAuthentication
{
    /// <summary>
    /// <c>tls_client_auth</c> (RFC 8705 §2.1): the workload SVID, chained to a CA the authorization server trusts, is the
    /// credential; the server matches its SPIFFE ID URI SAN (<c>tls_client_auth_san_uri</c>).
    /// </summary>
    TlsClientAuth,

    /// <summary><c>self_signed_tls_client_auth</c> (RFC 8705 §2.2): the server matches the presented certificate against one registered for the client.</summary>
    SelfSignedTlsClientAuth,

    /// <summary>
    /// <c>private_key_jwt</c> (RFC 7523 §2.2): a client assertion signed with the SVID's private key, for servers without
    /// mutual-TLS client authentication. The connection still presents the SVID, so tokens can still be bound.
    /// </summary>
    PrivateKeyJwt,
}

/// <summary>What a SecureComms client does when the authorization server grants less scope than it asked for.</summary>
public enum TokenScopeMismatch
{
    /// <summary>Refuse the token (error <c>scope_not_granted</c>): the calls it would authorize are bound to fail (the default).</summary>
    Fail,

    /// <summary>Log a warning and use the narrower token.</summary>
    Warn,
}

/// <summary>Which OAuth 2.0 grant a SecureComms client uses to obtain its tokens.</summary>
public enum TokenGrantType
{
    /// <summary>The client credentials grant: a token for the workload itself (the default).</summary>
    ClientCredentials,

    /// <summary>
    /// OAuth 2.0 Token Exchange (RFC 8693): the access token of the request being served (or one set with
    /// <see cref="SecureCommsTokenExchange.SubjectToken"/>) is exchanged for one restricted to the next service's
    /// audience and bound to this workload's certificate; the user stays the subject, this workload becomes the actor.
    /// </summary>
    TokenExchange,
}

/// <summary>Where a SecureComms client's bearer tokens come from.</summary>
public enum AccessTokenSource
{
    /// <summary>An OAuth 2.0 authorization server's token endpoint, over mutual TLS (RFC 8705): certificate-bound tokens (the default).</summary>
    TokenEndpoint,

    /// <summary>
    /// A JWT-SVID for <see cref="AccessTokenOptions.Audience"/> from the SPIFFE Workload API (<c>FetchJWTSVID</c>, at
    /// <c>SecureComms:WorkloadApi:Socket</c>). A JWT-SVID is not bound to a certificate: the receiver should accept it
    /// only from the workload it names (SecureComms does by default).
    /// </summary>
    JwtSvid,
}

/// <summary>Request options of token exchange (RFC 8693).</summary>
public static class SecureCommsTokenExchange
{
    /// <summary>
    /// The subject token to exchange for this request, when it is not the access token of the request being served
    /// (a worker has none). Used by clients with <see cref="TokenGrantType.TokenExchange"/>.
    /// </summary>
    public static readonly HttpRequestOptionsKey<string> SubjectToken = new("SecureComms.TokenExchange.SubjectToken");
}

/// <summary>
/// Certificate-bound access tokens for one outbound client (<c>SecureComms:Clients:{name}:Token</c>): the client
/// credentials grant over mutual TLS, so the authorization server binds the token to the workload certificate
/// (RFC 8705 §3) and a stolen token is useless without the key.
/// </summary>
public sealed class AccessTokenOptions
{
    /// <summary>
    /// Where the tokens come from: <see cref="AccessTokenSource.TokenEndpoint"/> (the default, an OAuth authorization
    /// server) or <see cref="AccessTokenSource.JwtSvid"/> (a JWT-SVID from the SPIFFE Workload API, for
    /// <see cref="Audience"/>, which is then required). With <see cref="AccessTokenSource.JwtSvid"/> only
    /// <see cref="Audience"/>, <see cref="SpiffeId"/>, <see cref="RefreshBeforeExpiry"/>, <see cref="MaxTokenLifetime"/>,
    /// <see cref="AttemptTimeout"/> and the failure back-off apply; token endpoint settings are refused at start-up.
    /// </summary>
    public AccessTokenSource Source { get; set; }

    /// <summary>
    /// With <see cref="AccessTokenSource.JwtSvid"/>: which of the workload's SPIFFE IDs the JWT-SVID is for, when the
    /// agent holds several. Default none: the first (the default) identity, as the Workload API specification says.
    /// </summary>
    public string? SpiffeId { get; set; }

    /// <summary>
    /// The authorization server's issuer URL; its metadata (RFC 8414 <c>/.well-known/oauth-authorization-server</c>,
    /// then OpenID <c>/.well-known/openid-configuration</c>) gives the token endpoint, preferring
    /// <c>mtls_endpoint_aliases.token_endpoint</c> (RFC 8705 §5). Set this or <see cref="TokenEndpoint"/>.
    /// </summary>
    public Uri? Authority { get; set; }

    /// <summary>The token endpoint, used as is instead of metadata discovery. Must be https.</summary>
    public Uri? TokenEndpoint { get; set; }

    /// <summary>The client identifier registered at the authorization server; always sent. Required.</summary>
    public string? ClientId { get; set; }

    /// <summary>How the client authenticates. Default <see cref="TokenClientAuthentication.TlsClientAuth"/>.</summary>
    public TokenClientAuthentication ClientAuthentication { get; set; } = TokenClientAuthentication.TlsClientAuth;

    /// <summary><see cref="TokenGrantType.ClientCredentials"/> (default) or <see cref="TokenGrantType.TokenExchange"/> (RFC 8693).</summary>
    public TokenGrantType GrantType { get; set; }

    /// <summary>Space-separated scopes to request. Default none.</summary>
    public string? Scope { get; set; }

    /// <summary>Resource indicator (RFC 8707), an absolute URI of the API. Default none.</summary>
    public Uri? Resource { get; set; }

    /// <summary>
    /// Audience parameter, for servers that use it instead of <see cref="Resource"/>. With
    /// <see cref="AccessTokenSource.JwtSvid"/>: the JWT-SVID's <c>aud</c>, required (the receiver's
    /// <c>SecureComms:TokenValidation:JwtSvidAudience</c>). Default none.
    /// </summary>
    public string? Audience { get; set; }

    /// <summary>
    /// Which server identity the authorization server must present, as a SPIFFE ID pattern. When not set, the server
    /// certificate is checked the ordinary way (system trust store and host name), as for any HTTPS server.
    /// </summary>
    public string? ExpectedServer { get; set; }

    /// <summary>
    /// For an authorization server whose certificate comes from an internal CA (neither an SVID nor one the system
    /// trusts): a PEM file with that CA's certificate(s). Token, metadata and JWKS calls then accept a server
    /// certificate only if it chains to one of them (<c>X509Chain</c> custom root trust, never the system store) and
    /// names the host of the URL (DNS or IP SAN), as for any HTTPS server. Read once when the client is first used;
    /// a missing or unreadable file fails start-up. Cannot be combined with <see cref="ExpectedServer"/>. Default none.
    /// </summary>
    public string? ServerCaBundlePath { get; set; }

    /// <summary>
    /// Whether a granted scope narrower than <see cref="Scope"/> is refused (<see cref="TokenScopeMismatch.Fail"/>, the
    /// default) or only logged (<see cref="TokenScopeMismatch.Warn"/>). RFC 6749 §3.3 lets a server grant less than
    /// requested and say so only in the response's <c>scope</c>; a response without <c>scope</c> means the requested
    /// scope was granted (§5.1).
    /// </summary>
    public TokenScopeMismatch ScopeMismatch { get; set; }

    /// <summary>
    /// After a failed token request, how long no new request is sent for that token (same client, certificate and
    /// subject token); calls in that time fail at once with the last error, or keep the still-valid cached token.
    /// Doubles with each further consecutive failure up to <see cref="MaxFailureBackoff"/>; a success or a new
    /// certificate starts again. <see cref="TimeSpan.Zero"/> turns the back-off off. Default 5 seconds.
    /// </summary>
    public TimeSpan FailureBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest back-off after repeated failures (see <see cref="FailureBackoff"/>). Default 1 minute.</summary>
    public TimeSpan MaxFailureBackoff { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long before expiry a token is renewed. Default: 60 seconds or 10 % of the token's lifetime, whichever is smaller.
    /// At most half the token's lifetime: a token the server issued for less than twice this margin is renewed at half
    /// its lifetime.
    /// </summary>
    public TimeSpan? RefreshBeforeExpiry { get; set; }

    /// <summary>
    /// Refuse a JWT access token that carries no <c>cnf.x5t#S256</c> (RFC 8705 §3.1): the server issued a plain bearer
    /// token, usually because the client is not registered with <c>tls_client_certificate_bound_access_tokens</c>.
    /// Opaque tokens cannot be inspected and are accepted. Default true.
    /// </summary>
    public bool RequireBoundToken { get; set; } = true;

    /// <summary>Tokens claiming a longer lifetime than this are refused as absurd. Default 24 hours.</summary>
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Retries after the first attempt on 5xx, 429, time-outs and connection failures. Default 3.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay; later ones grow exponentially with jitter. Default 200 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Time-out of one attempt. Default 10 seconds.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Consecutive-failure ratio over <see cref="CircuitBreakerSamplingDuration"/> that opens the breaker. Default 0.5.</summary>
    public double CircuitBreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Sampling window of the circuit breaker. Default 30 seconds.</summary>
    public TimeSpan CircuitBreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the breaker stays open before letting one attempt through. Default 15 seconds.</summary>
    public TimeSpan CircuitBreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);
}
