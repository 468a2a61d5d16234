using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

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

    /// <summary>
    /// <see langword="null"/> when <paramref name="user"/>'s SPIFFE ID is accepted, else the denial reason: the same
    /// vocabulary as the central policy's (<see cref="DenialReasons.NoMatchingRule"/>, rule <c>RequireCaller</c>,
    /// recorded on the request for the decision's log and span).
    /// </summary>
    internal string? Decide(ClaimsPrincipal user, object? resource)
    {
        SpiffeId caller = user.GetSpiffeId();
        if (caller.IsEmpty)
        {
            return DenialReasons.NoCallerIdentity;
        }

        bool allowed = Authorizer.IsAuthorized(caller);
        if (resource is HttpContext http && http.Features.Get<PolicyDecision>() is null)
        {
            http.Features.Set(allowed ? PolicyDecision.AllowedByRequireCaller : PolicyDecision.DeniedByRequireCaller);
        }

        return allowed ? null : DenialReasons.NoMatchingRule;
    }
}

/// <summary>Stable, machine-readable denial reasons (also logged and, later, used as metric tags).</summary>
internal static class DenialReasons
{
    internal const string NoCallerIdentity = SecureCommsTelemetry.Reasons.NoCallerIdentity;
    internal const string NoMatchingRule = SecureCommsTelemetry.Reasons.NoMatchingRule;
    internal const string InsufficientScope = SecureCommsTelemetry.Reasons.InsufficientScope;
}
