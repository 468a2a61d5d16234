namespace SecureComms;

/// <summary>What an outbound client does with the end user of the operation in progress.</summary>
public enum UserContextMode
{
    /// <summary>Send no user context (the default).</summary>
    None,

    /// <summary>
    /// Gateway: mint a user context from the user the edge authenticated (any ASP.NET Core scheme, or a principal set on
    /// the request with <see cref="SecureCommsUserContext.User"/>), signed with this workload's SVID key.
    /// </summary>
    Mint,

    /// <summary>
    /// Forward the verified user context this service received, wrapped in one signed by this workload and naming it
    /// as the next actor (RFC 8693 <c>act</c> nesting), so the receiver sees who acted for whom.
    /// </summary>
    Forward,
}

/// <summary>
/// The end-user context an outbound client attaches to its calls (<c>SecureComms:Clients:{name}:UserContext</c>): a
/// short-lived JWT in the <see cref="SecureCommsUserContext.HeaderName"/> header, signed with the workload's own SVID
/// key and carrying its certificate chain (<c>x5c</c>), so receivers verify it against their trust bundle.
/// </summary>
public sealed class ClientUserContextOptions
{
    /// <summary><see cref="UserContextMode.None"/> (default), <see cref="UserContextMode.Mint"/> or <see cref="UserContextMode.Forward"/>.</summary>
    public UserContextMode Mode { get; set; }

    /// <summary>Lifetime of a minted or forwarded context (a forwarded one never outlives the one it wraps). Default 2 minutes; at most 10.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The user's claims to carry besides <c>sub</c>, by their JWT names (<c>name</c>, <c>email</c>, <c>role</c>, …;
    /// ASP.NET Core's long claim-type URIs for these are recognised). Default when empty: <c>name</c> and <c>role</c>.
    /// </summary>
    public IList<string> Claims { get; } = [];

    /// <summary>The receiver's SPIFFE ID, the context's <c>aud</c>. Default: <c>ExpectedServer</c> when it is one exact ID.</summary>
    public string? Audience { get; set; }

    internal static readonly string[] DefaultClaims = ["name", "role"];

    internal IReadOnlyList<string> EffectiveClaims => Claims.Count == 0 ? DefaultClaims : [.. Claims];
}

/// <summary>
/// Which user contexts this service accepts (<c>SecureComms:UserContext</c>). Without <see cref="TrustedGateways"/> a
/// request carrying one is refused: a plain header is never trusted.
/// </summary>
public sealed class UserContextTrustOptions
{
    /// <summary>SPIFFE ID patterns of the workloads that may originate a user context (exact, <c>…/*</c> prefix or trust domain).</summary>
    public IList<string> TrustedGateways { get; } = [];

    /// <summary>SPIFFE ID patterns of the workloads that may forward a user context they received. Default: none.</summary>
    public IList<string> TrustedForwarders { get; } = [];

    /// <summary>The longest lifetime (<c>exp</c> − <c>iat</c>) accepted for any context in the chain. Default 5 minutes; at most 1 hour.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most workloads a context may pass through (gateway included). Default 4.</summary>
    public int MaxChainLength { get; set; } = 4;

    /// <summary>Allowed clock difference for <c>exp</c>, <c>nbf</c> and <c>iat</c>. Default 30 seconds; at most 5 minutes.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longer headers are refused before any parsing. Default 32768.</summary>
    public int MaxHeaderLength { get; set; } = 32_768;

    internal bool AcceptsUserContexts => TrustedGateways.Count > 0;
}
