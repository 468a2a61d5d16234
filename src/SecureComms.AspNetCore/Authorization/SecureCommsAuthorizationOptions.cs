namespace SecureComms;

/// <summary>
/// The central policy (<c>SecureComms:Authorization</c>). Default deny: an endpoint with no authorization of its own
/// answers only callers that a rule here allows; nothing matched means 403.
/// </summary>
public sealed class SecureCommsAuthorizationOptions
{
    /// <summary>Allow rules; a request is allowed when any rule matches its caller, method and path. Default: none.</summary>
    public IList<CallerRuleOptions> Rules { get; } = [];
}

/// <summary>
/// One allow rule (<c>SecureComms:Authorization:Rules:{n}</c>): which callers may use which methods on which paths.
/// </summary>
public sealed class CallerRuleOptions
{
    /// <summary>A name for logs. Default: <c>rule-{index}</c>.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// Caller SPIFFE ID patterns: exact (<c>spiffe://example.org/orders</c>), prefix on path boundaries
    /// (<c>spiffe://example.org/orders/*</c>) or trust domain (<c>spiffe://example.org/*</c>). At least one; <c>*</c>
    /// alone (any trusted caller) must be written on purpose.
    /// </summary>
    public IList<string> Callers { get; } = [];

    /// <summary>
    /// Path patterns: exact (<c>/invoices</c>) or prefix on segment boundaries (<c>/invoices/*</c> matches
    /// <c>/invoices</c> and below). Matched case-insensitively, as ASP.NET Core routing matches. At least one.
    /// </summary>
    public IList<string> Paths { get; } = [];

    /// <summary>HTTP methods (<c>GET</c>, <c>POST</c>, …). Default: empty, meaning every method.</summary>
    public IList<string> Methods { get; } = [];
}
