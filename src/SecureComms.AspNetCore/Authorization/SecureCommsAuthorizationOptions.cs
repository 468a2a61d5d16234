namespace SecureComms;

/// <summary>
/// The central policy (<c>SecureComms:Authorization</c>). Default deny: an endpoint with no authorization of its own
/// answers only callers that an <see cref="PolicyAction.Allow"/> rule here allows and no <see cref="PolicyAction.Deny"/>
/// rule refuses; nothing matched means 403. Reloaded on change: an invalid new policy is refused with one warning
/// (event 1410, naming every key to fix) and a <c>securecomms.configuration.reloads</c> count tagged <c>rejected</c>, and
/// the last good one stays in force; an invalid policy at start-up stops start-up.
/// </summary>
public sealed class SecureCommsAuthorizationOptions
{
    /// <summary>The rules. Deny wins over Allow; Audit rules only log. Default: none (everything denied).</summary>
    public IList<CallerRuleOptions> Rules { get; } = [];

    /// <summary>
    /// Evaluate and log what the policy would decide, without enforcing it: every request passes the central policy.
    /// For trying a new policy on live traffic; never leave it on. Default false.
    /// </summary>
    public bool DryRun { get; set; }

    /// <summary>
    /// Also log an audit event (1401, Information) for every allowed request, not only for denials. Default false:
    /// allowed calls are counted and traced; logging each one is for audits that need a complete record.
    /// </summary>
    public bool LogAllowedRequests { get; set; }

    /// <summary>
    /// An operator's label for this policy (a commit, a release, a date), shown with the policy's SHA-256 and load time
    /// by the policy information endpoint (<c>MapSecureCommsPolicyInfo</c>) and in event 1411, so that operators can
    /// confirm every replica runs the same policy. Decides nothing. Default: none.
    /// </summary>
    public string? Version { get; set; }
}

/// <summary>
/// One rule (<c>SecureComms:Authorization:Rules:{n}</c>): what happens when these callers use these methods on these
/// paths with these scopes and claims.
/// </summary>
public sealed class CallerRuleOptions
{
    /// <summary><see cref="PolicyAction.Allow"/> (default), <see cref="PolicyAction.Deny"/> or <see cref="PolicyAction.Audit"/>.</summary>
    public PolicyAction Action { get; set; } = PolicyAction.Allow;

    /// <summary>A name for logs. Default: <c>rule-{index}</c>.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// Caller SPIFFE ID patterns: exact (<c>spiffe://example.org/orders</c>), prefix on path boundaries
    /// (<c>spiffe://example.org/orders/*</c>) or trust domain (<c>spiffe://example.org/*</c>). At least one; <c>*</c>
    /// alone (any trusted caller) must be written on purpose.
    /// </summary>
    public IList<string> Callers { get; } = [];

    /// <summary>
    /// Path patterns: exact (<c>/invoices</c>), prefix on segment boundaries (<c>/invoices/*</c> matches <c>/invoices</c>
    /// and below), suffix (<c>*/health</c>), one-segment wildcards (<c>/tenants/*/invoices</c>) or route-template
    /// parameters (<c>/orders/{id}</c>: exactly one segment; a last <c>{**path}</c>: everything below). Matched
    /// case-insensitively, as ASP.NET Core routing matches, after the path is canonicalised. At least one.
    /// </summary>
    public IList<string> Paths { get; } = [];

    /// <summary>HTTP methods (<c>GET</c>, <c>POST</c>, …). Default: empty, meaning every method.</summary>
    public IList<string> Methods { get; } = [];

    /// <summary>Scopes the caller's access token must all grant for the rule to match. Default: none.</summary>
    public IList<string> Scopes { get; } = [];

    /// <summary>Claims (type → value) the caller's principal must all carry for the rule to match. Default: none.</summary>
    public IDictionary<string, string> Claims { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// When true, the rule matches only a request made for an end user: one that carried a verified user context
    /// (<c>SecureComms:UserContext</c>). Default false. Implied by <see cref="UserClaims"/>.
    /// </summary>
    public bool RequireUser { get; set; }

    /// <summary>
    /// Claims (type → value) the end user must all carry for the rule to match, e.g. <c>"role": "buyer"</c>; read from
    /// the verified user context only, never from the workload's token. Default: none.
    /// </summary>
    public IDictionary<string, string> UserClaims { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
