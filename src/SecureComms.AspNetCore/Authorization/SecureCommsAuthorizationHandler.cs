using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace SecureComms;

/// <summary>
/// The one authorization handler SecureComms registers: decides its own requirements (central policy,
/// <c>RequireCaller</c>, <c>RequireScope</c>) in a single pass over the policy's requirements, by index. Three
/// <see cref="AuthorizationHandler{TRequirement}"/>s would each allocate an enumerator per request.
/// </summary>
internal sealed class SecureCommsAuthorizationHandler(CentralPolicyCheck centralPolicy) : IAuthorizationHandler
{
    public Task HandleAsync(AuthorizationHandlerContext context)
    {
        if (context.Requirements is IReadOnlyList<IAuthorizationRequirement> requirements)
        {
            for (int i = 0; i < requirements.Count; i++)
            {
                Decide(context, requirements[i]);
            }
        }
        else
        {
            foreach (IAuthorizationRequirement requirement in context.Requirements)
            {
                Decide(context, requirement);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Whether every requirement of <paramref name="requirements"/> is one this handler decides.</summary>
    internal static bool DecidesAll(IReadOnlyList<IAuthorizationRequirement> requirements)
    {
        for (int i = 0; i < requirements.Count; i++)
        {
            if (!IsOurs(requirements[i]))
            {
                return false;
            }
        }

        return requirements.Count > 0;
    }

    /// <summary>
    /// Decides requirements that are all SecureComms' own (<see cref="DecidesAll"/>) without an authorization handler
    /// context: <see langword="null"/> when every one is met, else one failure reason per unmet requirement, in order —
    /// exactly what <see cref="HandleAsync"/> reports to ASP.NET Core's authorization service for the same requirements.
    /// </summary>
    internal List<AuthorizationFailureReason>? Decide(ClaimsPrincipal user, object? resource, IReadOnlyList<IAuthorizationRequirement> requirements)
    {
        List<AuthorizationFailureReason>? failures = null;
        for (int i = 0; i < requirements.Count; i++)
        {
            if (Reason(user, resource, requirements[i]) is { } reason)
            {
                (failures ??= []).Add(new AuthorizationFailureReason(this, reason));
            }
        }

        return failures;
    }

    private void Decide(AuthorizationHandlerContext context, IAuthorizationRequirement requirement)
    {
        if (!IsOurs(requirement))
        {
            return; // another handler decides it
        }

        if (Reason(context.User, context.Resource, requirement) is { } reason)
        {
            context.Fail(new AuthorizationFailureReason(this, reason));
        }
        else
        {
            context.Succeed(requirement);
        }
    }

    private static bool IsOurs(IAuthorizationRequirement requirement) =>
        requirement is CentralPolicyRequirement or CallerRequirement or ScopeRequirement;

    private string? Reason(ClaimsPrincipal user, object? resource, IAuthorizationRequirement requirement) => requirement switch
    {
        CentralPolicyRequirement => centralPolicy.Decide(user, resource),
        CallerRequirement caller => caller.Decide(user, resource),
        ScopeRequirement scope => scope.Decide(user, resource),
        _ => throw new ArgumentOutOfRangeException(nameof(requirement), requirement.GetType().Name, "Not a SecureComms requirement."),
    };
}
