using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Default deny: satisfied only when a rule of the central policy allows the caller, method and path.</summary>
internal sealed class CentralPolicyRequirement : IAuthorizationRequirement
{
    internal static readonly CentralPolicyRequirement Instance = new();
}

/// <summary>Satisfied when the caller's SPIFFE ID is accepted by the endpoint's authorizer (<c>RequireCaller</c>).</summary>
internal sealed class CallerRequirement(SpiffeIdAuthorizer authorizer) : IAuthorizationRequirement
{
    public SpiffeIdAuthorizer Authorizer { get; } = authorizer;

    public override string ToString() => $"caller {Authorizer}";

    /// <summary><see langword="null"/> when <paramref name="user"/>'s SPIFFE ID is accepted, else the denial reason.</summary>
    internal string? Decide(ClaimsPrincipal user)
    {
        SpiffeId caller = user.GetSpiffeId();
        if (caller.IsEmpty)
        {
            return DenialReasons.NoCallerIdentity;
        }

        return Authorizer.IsAuthorized(caller) ? null : DenialReasons.CallerNotAllowed;
    }
}

/// <summary>Stable, machine-readable denial reasons (also logged and, later, used as metric tags).</summary>
internal static class DenialReasons
{
    internal const string NoCallerIdentity = SecureCommsTelemetry.Reasons.NoCallerIdentity;
    internal const string NoMatchingRule = SecureCommsTelemetry.Reasons.NoMatchingRule;
    internal const string CallerNotAllowed = SecureCommsTelemetry.Reasons.CallerNotAllowed;
    internal const string InsufficientScope = SecureCommsTelemetry.Reasons.InsufficientScope;
}

/// <summary>Decides a <see cref="CentralPolicyRequirement"/>: the central policy's verdict for the caller, method and path.</summary>
internal sealed class CentralPolicyCheck(CentralPolicyProvider policy, ILogger<CentralPolicyCheck> logger)
{
    /// <summary>Decides <paramref name="user"/>'s request; <see langword="null"/> when allowed, else the denial reason.</summary>
    internal string? Decide(ClaimsPrincipal user, object? resource)
    {
        if (resource is not HttpContext http)
        {
            return DenialReasons.NoMatchingRule;
        }

        SpiffeId caller = user.GetSpiffeId();
        PolicyDecision decision = policy.Current.Evaluate(new PolicyRequest(caller, http.Request.Method, http.Request.Path.Value ?? "/", user));
        http.Features.Set(decision); // for the decision handler; a feature, not Items: no dictionary per request
        for (int i = 0; i < decision.AuditRules.Count; i++)
        {
            PolicyLog.Audited(logger, caller.IsEmpty ? "(none)" : caller.ToString(), http.Request.Method, http.Request.Path.Value ?? "/", decision.AuditRules[i], decision.Reason);
        }

        if (decision.Allowed)
        {
            return null;
        }

        if (decision.DryRun)
        {
            PolicyLog.DryRunDecision(logger, caller.IsEmpty ? "(none)" : caller.ToString(), http.Request.Method, http.Request.Path.Value ?? "/", "denied", decision.Reason, decision.Rule ?? "(none)");
            return null;
        }

        if (decision.MissingScopes is { } scopes)
        {
            // RFC 6750 §3.1: the decision handler answers insufficient_scope naming them, as for RequireScope.
            http.Items[ScopeRequirement.MissingScopesItem] = scopes;
        }

        return decision.Reason;
    }
}
