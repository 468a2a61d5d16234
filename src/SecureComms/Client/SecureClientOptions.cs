namespace SecureComms;

/// <summary>
/// One outbound mutual-TLS client (<c>SecureComms:Clients:{name}</c>), available as the named client
/// <c>{name}</c> from <c>IHttpClientFactory</c>.
/// </summary>
public sealed class SecureClientOptions
{
    /// <summary>Base address of the server; must be <c>https://</c>. Optional (requests may use absolute URIs).</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>
    /// Which server identities are accepted, as a SPIFFE ID pattern: an exact ID (<c>spiffe://example.org/billing</c>),
    /// a prefix on path boundaries (<c>spiffe://example.org/billing/*</c>) or a whole trust domain
    /// (<c>spiffe://example.org/*</c>). Required: the SPIFFE ID replaces host-name checking.
    /// </summary>
    public string? ExpectedServer { get; set; }

    /// <summary>
    /// How long a connection pool built for a replaced (rotated) client certificate keeps serving requests already
    /// in flight before it is disposed. Default 2 minutes.
    /// </summary>
    public TimeSpan RotationDrainTime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Lifetime of a pooled connection, after which a new handshake happens. Default 10 minutes.</summary>
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>TLS handshake and TCP connect timeout. Default 10 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Certificate-bound access tokens (RFC 8705) added as <c>Authorization: Bearer</c> to every request
    /// (<c>SecureComms:Clients:{name}:Token</c>). Default: none, the client sends no token.
    /// </summary>
    public AccessTokenOptions? Token { get; set; }

    /// <summary>
    /// The end-user context sent with every request (<c>SecureComms:Clients:{name}:UserContext</c>): minted by a
    /// gateway or forwarded by a service that received one. Default: none.
    /// </summary>
    public ClientUserContextOptions? UserContext { get; set; }

    /// <summary>The authorizer set in code, which takes precedence over <see cref="ExpectedServer"/>.</summary>
    internal SpiffeIdAuthorizer? ExpectedServerAuthorizer { get; set; }

    /// <summary>
    /// The application's configuration of each connection pool's <see cref="SocketsHttpHandler"/>, set in code with
    /// <see cref="SecureCommsHttpClientBuilderExtensions.ConfigureSecureCommsHandler"/>; runs before SecureComms sets TLS.
    /// </summary>
    internal Action<SocketsHttpHandler>? ConfigureHandler { get; set; }
}
