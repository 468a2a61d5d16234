using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// Logs one structured event per denied request (caller, method, route, reason) and then answers as ASP.NET Core
/// does: 401 without a caller identity, 403 with one.
/// </summary>
internal sealed class DenialLoggingResultHandler(ILogger<DenialLoggingResultHandler> logger) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _inner = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        // A refused token was already logged once, with its reason, by the authentication handler.
        bool loggedByAuthentication = authorizeResult.Challenged && context.Items.ContainsKey(SecureCommsAuthenticationHandler.FailureItem);
        if (!authorizeResult.Succeeded && !loggedByAuthentication)
        {
            string reason = DescribeFailure(authorizeResult);
            string route = (context.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
            SpiffeId caller = context.User.GetSpiffeId();
            AuthorizationLog.RequestDenied(
                logger,
                caller.IsEmpty ? "(none)" : caller.ToString(),
                context.Request.Method,
                route,
                reason,
                authorizeResult.Challenged ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden);
        }

        if (authorizeResult.Forbidden)
        {
            // 403 answers here rather than through the schemes' Forbid: one short problem body, and for a missing
            // scope the RFC 6750 §3.1 challenge naming the scopes needed.
            if (context.Items.TryGetValue(ScopeRequirement.MissingScopesItem, out object? scopes) && scopes is string needed)
            {
                context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"SecureComms\", error=\"insufficient_scope\", scope=\"{needed}\"";
                return ProblemResponses.WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", "The access token lacks a scope this endpoint requires.");
            }

            return ProblemResponses.WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", "The caller is not allowed to call this endpoint.");
        }

        return _inner.HandleAsync(next, context, policy, authorizeResult);
    }

    private static string DescribeFailure(PolicyAuthorizationResult result)
    {
        if (result.AuthorizationFailure is { } failure)
        {
            foreach (AuthorizationFailureReason reason in failure.FailureReasons)
            {
                return reason.Message;
            }

            if (failure.FailCalled)
            {
                return "Failed";
            }

            return "RequirementNotMet";
        }

        return result.Challenged ? DenialReasons.NoCallerIdentity : "Forbidden";
    }
}

/// <summary>Authorization log events (event ids 1400–1499).</summary>
internal static partial class AuthorizationLog
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Warning, Message = "SecureComms denied {Caller} {Method} {Route}: {Reason} ({StatusCode})")]
    internal static partial void RequestDenied(ILogger logger, string caller, string method, string route, string reason, int statusCode);
}
