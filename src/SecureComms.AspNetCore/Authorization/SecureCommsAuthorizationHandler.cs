using Microsoft.AspNetCore.Authorization;

namespace SecureComms;

/// <summary>
/// The one authorization handler SecureComms registers: decides its own requirements (central policy,
/// <c>RequireCaller</c>, <c>RequireScope</c>) in a single pass over the policy's requirements, by index. Three
/// <see cref="AuthorizationHandler{TRequirement}"/>s would each allocate an enumerator per request.
/// </summary>
internal sealed class SecureCommsAuthorizationHandler(
    CentralPolicyHandler centralPolicy,
    CallerRequirementHandler callers,
    ScopeRequirementHandler scopes) : IAuthorizationHandler
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

    private void Decide(AuthorizationHandlerContext context, IAuthorizationRequirement requirement)
    {
        switch (requirement)
        {
            case CentralPolicyRequirement central:
                centralPolicy.Evaluate(context, central);
                break;
            case CallerRequirement caller:
                callers.Evaluate(context, caller);
                break;
            case ScopeRequirement scope:
                scopes.Evaluate(context, scope);
                break;
        }
    }
}
