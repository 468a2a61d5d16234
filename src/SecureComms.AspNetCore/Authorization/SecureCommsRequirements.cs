using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

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
