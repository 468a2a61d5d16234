using System.Collections.Frozen;
using System.Security.Claims;

namespace SecureComms;

/// <summary>What a rule does when it matches.</summary>
public enum PolicyAction
{
    /// <summary>Allows the request, unless a <see cref="Deny"/> rule also matches.</summary>
    Allow,

    /// <summary>Denies the request; wins over every <see cref="Allow"/>.</summary>
    Deny,

    /// <summary>Decides nothing; a match is logged as an audit event.</summary>
    Audit,
}

/// <summary>A request as the central policy sees it.</summary>
internal readonly record struct PolicyRequest(SpiffeId Caller, string Method, string Path, ClaimsPrincipal User);

/// <summary>The outcome of the central policy for one request.</summary>
internal sealed class PolicyDecision
{
    internal const string AllowedByRule = SecureCommsTelemetry.Reasons.AllowedByRule;
    internal const string DeniedByRule = SecureCommsTelemetry.Reasons.DeniedByRule;
    internal const string NoMatchingRule = SecureCommsTelemetry.Reasons.NoMatchingRule;
    internal const string NonCanonicalPath = SecureCommsTelemetry.Reasons.NonCanonicalPath;
    internal const string NoCallerIdentity = SecureCommsTelemetry.Reasons.NoCallerIdentity;
    internal const string InsufficientScope = SecureCommsTelemetry.Reasons.InsufficientScope;

    /// <summary>The rule name of an endpoint's <c>RequireCaller</c> in logs and spans.</summary>
    internal const string RequireCallerRule = "RequireCaller";

    /// <summary>The rule name of an endpoint's own authorization with no named rule (<c>RequireScope</c> alone).</summary>
    internal const string EndpointRule = "endpoint";

    private static readonly string[] NoAudits = [];
    private static readonly PolicyDecision NoMatch = new(false, NoMatchingRule, null, NoAudits, false);
    private static readonly PolicyDecision NonCanonical = new(false, NonCanonicalPath, null, NoAudits, false);
    private static readonly PolicyDecision NoCaller = new(false, NoCallerIdentity, null, NoAudits, false);

    /// <summary>The endpoint's <c>RequireCaller</c> names the caller: allowed by that rule.</summary>
    internal static readonly PolicyDecision AllowedByRequireCaller = new(true, AllowedByRule, RequireCallerRule, NoAudits, false);

    /// <summary>The endpoint's <c>RequireCaller</c> does not name the caller: no rule allows it.</summary>
    internal static readonly PolicyDecision DeniedByRequireCaller = new(false, NoMatchingRule, RequireCallerRule, NoAudits, false);

    private PolicyDecision(bool allowed, string reason, string? rule, IReadOnlyList<string> auditRules, bool dryRun, string? missingScopes = null)
    {
        MissingScopes = missingScopes;
        Allowed = allowed;
        Reason = reason;
        Rule = rule;
        AuditRules = auditRules;
        DryRun = dryRun;
    }

    /// <summary>Whether the policy allows the request (in dry run: whether it would).</summary>
    public bool Allowed { get; }

    /// <summary>
    /// Why: <see cref="AllowedByRule"/>, <see cref="DeniedByRule"/>, <see cref="NoMatchingRule"/>,
    /// <see cref="InsufficientScope"/>, <see cref="NonCanonicalPath"/> or <see cref="NoCallerIdentity"/>.
    /// </summary>
    public string Reason { get; }

    /// <summary>The name of the deciding rule, if one decided.</summary>
    public string? Rule { get; }

    /// <summary>Names of matching <see cref="PolicyAction.Audit"/> rules.</summary>
    public IReadOnlyList<string> AuditRules { get; }

    /// <summary>Whether the policy is in dry-run mode: the decision is reported, not enforced.</summary>
    public bool DryRun { get; }

    /// <summary>For <see cref="InsufficientScope"/>: the scopes of the rule that would have allowed, space-separated.</summary>
    public string? MissingScopes { get; }

    internal static PolicyDecision Create(bool allowed, string reason, string? rule, List<string>? audits, bool dryRun) =>
        rule is null && audits is null && !dryRun
            ? reason == NonCanonicalPath ? NonCanonical : reason == NoCallerIdentity ? NoCaller : NoMatch
            : new PolicyDecision(allowed, reason, rule, audits is null ? NoAudits : audits, dryRun);

    /// <summary>Denied because <paramref name="rule"/> would allow the request but the token lacks some of <paramref name="scopes"/>.</summary>
    internal static PolicyDecision InsufficientScopes(string rule, string scopes, List<string>? audits, bool dryRun) =>
        new(false, InsufficientScope, rule, audits is null ? NoAudits : audits, dryRun, scopes);
}
