using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

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
    internal const string NoCallerIdentity = "NoCallerIdentity";
    internal const string NoMatchingRule = "NoMatchingRule";
    internal const string CallerNotAllowed = "CallerNotAllowed";
    internal const string InsufficientScope = "InsufficientScope";
}

internal sealed class CentralPolicyHandler : AuthorizationHandler<CentralPolicyRequirement>
{
    private readonly IOptionsMonitor<SecureCommsAuthorizationOptions> _options;
    private (SecureCommsAuthorizationOptions Source, CallerRule[] Rules)? _compiled;

    public CentralPolicyHandler(IOptionsMonitor<SecureCommsAuthorizationOptions> options) => _options = options;

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, CentralPolicyRequirement requirement)
    {
        SpiffeId caller = context.User.GetSpiffeId();
        if (caller.IsEmpty)
        {
            context.Fail(new AuthorizationFailureReason(this, DenialReasons.NoCallerIdentity));
            return Task.CompletedTask;
        }

        if (context.Resource is HttpContext http)
        {
            string method = http.Request.Method;
            string path = http.Request.Path.Value ?? "/";
            foreach (CallerRule rule in GetRules())
            {
                if (rule.IsMatch(caller, method, path))
                {
                    http.Items[AuthorizationItems.MatchedRule] = rule.Name;
                    context.Succeed(requirement);
                    return Task.CompletedTask;
                }
            }
        }

        context.Fail(new AuthorizationFailureReason(this, DenialReasons.NoMatchingRule));
        return Task.CompletedTask;
    }

    private CallerRule[] GetRules()
    {
        SecureCommsAuthorizationOptions current = _options.CurrentValue;
        var compiled = _compiled;
        if (compiled is { } c && ReferenceEquals(c.Source, current))
        {
            return c.Rules;
        }

        CallerRule[] rules = CallerRuleCompiler.Compile(current, errors: null);
        _compiled = (current, rules);
        return rules;
    }
}

internal sealed class CallerRequirementHandler : AuthorizationHandler<CallerRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, CallerRequirement requirement)
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

        return Task.CompletedTask;
    }
}

internal static class AuthorizationItems
{
    internal const string MatchedRule = "SecureComms.MatchedRule";
}
