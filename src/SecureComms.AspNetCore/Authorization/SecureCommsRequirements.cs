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
}

/// <summary>Stable, machine-readable denial reasons (also logged and, later, used as metric tags).</summary>
internal static class DenialReasons
{
    internal const string NoCallerIdentity = SecureCommsTelemetry.Reasons.NoCallerIdentity;
    internal const string NoMatchingRule = SecureCommsTelemetry.Reasons.NoMatchingRule;
    internal const string CallerNotAllowed = SecureCommsTelemetry.Reasons.CallerNotAllowed;
    internal const string InsufficientScope = SecureCommsTelemetry.Reasons.InsufficientScope;
}

internal sealed class CentralPolicyHandler(CentralPolicyProvider policy, ILogger<CentralPolicyHandler> logger) : AuthorizationHandler<CentralPolicyRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, CentralPolicyRequirement requirement)
    {
        Evaluate(context, requirement);
        return Task.CompletedTask;
    }

    /// <summary>Decides <paramref name="requirement"/>; called by <see cref="SecureCommsAuthorizationHandler"/>.</summary>
    internal void Evaluate(AuthorizationHandlerContext context, CentralPolicyRequirement requirement)
    {
        if (context.Resource is not HttpContext http)
        {
            context.Fail(new AuthorizationFailureReason(this, DenialReasons.NoMatchingRule));
            return;
        }

        SpiffeId caller = context.User.GetSpiffeId();
        PolicyDecision decision = policy.Current.Evaluate(new PolicyRequest(caller, http.Request.Method, http.Request.Path.Value ?? "/", context.User));
        http.Features.Set(decision); // for the decision handler; a feature, not Items: no dictionary per request
        for (int i = 0; i < decision.AuditRules.Count; i++)
        {
            PolicyLog.Audited(logger, caller.IsEmpty ? "(none)" : caller.ToString(), http.Request.Method, http.Request.Path.Value ?? "/", decision.AuditRules[i], decision.Reason);
        }

        if (decision.Allowed)
        {
            context.Succeed(requirement);
        }
        else if (decision.DryRun)
        {
            PolicyLog.DryRunDecision(logger, caller.IsEmpty ? "(none)" : caller.ToString(), http.Request.Method, http.Request.Path.Value ?? "/", "denied", decision.Reason, decision.Rule ?? "(none)");
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, decision.Reason));
        }
    }
}

internal sealed class CallerRequirementHandler : AuthorizationHandler<CallerRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, CallerRequirement requirement)
    {
        Evaluate(context, requirement);
        return Task.CompletedTask;
    }

    /// <summary>Decides <paramref name="requirement"/>; called by <see cref="SecureCommsAuthorizationHandler"/>.</summary>
    internal void Evaluate(AuthorizationHandlerContext context, CallerRequirement requirement)
    {
        SpiffeId caller = context.User.GetSpiffeId();
        if (caller.IsEmpty)
        {
            context.Fail(new AuthorizationFailureReason(this, DenialReasons.NoCallerIdentity));
        }
        else if (requirement.Authorizer.IsAuthorized(caller))
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, DenialReasons.CallerNotAllowed));
        }
    }
}
