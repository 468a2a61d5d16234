using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SecureComms;

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
