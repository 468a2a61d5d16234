using System.Diagnostics;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// Records every inbound authorization decision once — a <c>securecomms.authorize</c> span, the decisions counter
/// and, for a denial, one audit event (caller, user, method, route template, reason, rule) — and answers the denials of
/// the policies SecureComms authenticates as ASP.NET Core does: 401 without a valid caller identity or token (through the
/// SecureComms scheme's challenge), 403 with one (a problem body written here; to a gRPC call, the PermissionDenied status
/// of <see cref="GrpcRefusal"/>). Everything else — a request allowed, a
/// denial under a policy that names only the application's own authentication schemes — goes to the result handler the
/// application registered (<c>IAuthorizationMiddlewareResultHandler</c>), or ASP.NET Core's when there is none. An
/// application handler never sees a SecureComms denial, so it cannot turn one into a call of the endpoint.
/// </summary>
internal sealed class AuthorizationDecisionHandler(
    SecureCommsServerMetrics metrics,
    CentralPolicyProvider policy,
    ILogger<AuthorizationDecisionHandler> logger,
    IAuthorizationMiddlewareResultHandler application) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _framework = new();
    private readonly IAuthorizationMiddlewareResultHandler _inner = application;

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        Record(context, authorizeResult);
        if (authorizeResult.Succeeded || !AuthenticatedBySecureComms(policy))
        {
            return _inner.HandleAsync(next, context, policy, authorizeResult);
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

        return _framework.HandleAsync(next, context, policy, authorizeResult); // the challenge of the policy's schemes: 401
    }

    /// <summary>
    /// Whether SecureComms answers this policy's denials: it names no scheme (SecureComms is the default one, set by
    /// <c>AddSecureComms</c>) or names SecureComms among its schemes.
    /// </summary>
    private static bool AuthenticatedBySecureComms(AuthorizationPolicy policy)
    {
        IReadOnlyList<string> schemes = policy.AuthenticationSchemes;
        if (schemes.Count == 0)
        {
            return true;
        }

        for (int i = 0; i < schemes.Count; i++)
        {
            if (string.Equals(schemes[i], SecureCommsDefaults.AuthenticationScheme, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private void Record(HttpContext context, PolicyAuthorizationResult result)
    {
        bool allowed = result.Succeeded;
        PolicyDecision? decision = context.Features.Get<PolicyDecision>();
        string reason = allowed ? decision?.Reason ?? SecureCommsTelemetry.Reasons.AllowedByRule : DescribeFailure(context, result);
        // The rule that decided: an allowing one, or a refusing one; a rule that allowed a request another requirement
        // then refused (RequireCaller met, RequireScope not) did not decide it.
        string? rule = allowed ? decision?.Rule ?? PolicyDecision.EndpointRule : decision is { Allowed: false } ? decision.Rule : null;
        metrics.AuthorizationDecision(allowed, reason);

        bool logAllowed = allowed && policy.Current.LogAllowedRequests && logger.IsEnabled(LogLevel.Information);
        Activity? span = SecureCommsServerActivitySource.Instance.StartActivity(SecureCommsTelemetry.Spans.InboundDecision, ActivityKind.Internal);
        if (span is null && allowed && !logAllowed)
        {
            return; // the hot path: nobody listens, nothing to log
        }

        SpiffeId caller = Caller(context);
        string? user = EndUser(context.User);
        if (span is not null)
        {
            span.SetTag(SecureCommsTelemetry.Tags.PeerSpiffeId, caller.IsEmpty ? null : caller.ToString());
            span.SetTag(SecureCommsTelemetry.Tags.EndUserId, user);
            span.SetTag(SecureCommsTelemetry.Tags.Decision, allowed ? SecureCommsTelemetry.Results.Allow : SecureCommsTelemetry.Results.Deny);
            span.SetTag(SecureCommsTelemetry.Tags.Reason, reason);
            span.SetTag(SecureCommsTelemetry.Tags.Rule, rule);
            if (!allowed)
            {
                span.SetStatus(ActivityStatusCode.Error, reason);
            }

            span.Stop();
        }

        string route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
        if (!allowed)
        {
            AuthorizationLog.RequestDenied(
                logger,
                caller.IsEmpty ? "(none)" : caller.ToString(),
                user ?? "(none)",
                context.Request.Method,
                route,
                reason,
                rule ?? "(none)",
                result.Challenged ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden);
        }
        else if (logAllowed)
        {
            AuthorizationLog.RequestAllowed(logger, caller, user ?? "(none)", context.Request.Method, route, reason, rule ?? "(none)");
        }
    }

    /// <summary>The caller's SPIFFE ID, also when its token was refused (its certificate was still valid).</summary>
    private static SpiffeId Caller(HttpContext context)
    {
        SpiffeId caller = context.User.GetSpiffeId();
        if (caller.IsEmpty && context.Items.TryGetValue(SecureCommsAuthenticationHandler.CallerItem, out object? value) && value is SpiffeId id)
        {
            return id;
        }

        return caller;
    }

    /// <summary>
    /// The end user the request was made for: the subject of a verified user context, and nothing else. An access
    /// token's <c>sub</c> is not a user: for a client-credentials token servers put the client's id there (RFC 9068 §2.2)
    /// or any other value of theirs (node-oidc-provider does), so showing it would name a user who is not there.
    /// </summary>
    private static string? EndUser(ClaimsPrincipal principal) => principal.GetEndUser()?.Subject;

    private static string DescribeFailure(HttpContext context, PolicyAuthorizationResult result)
    {
        if (context.Items.TryGetValue(SecureCommsAuthenticationHandler.FailureItem, out object? failure) && failure is string token)
        {
            return token; // the access token was refused: its reason (e.g. TokenBoundToAnotherCertificate)
        }

        if (context.Items.TryGetValue(SecureCommsAuthenticationHandler.PeerFailureItem, out object? peer) && peer is string certificate)
        {
            return certificate; // the caller's certificate was refused at request time (e.g. expired during the connection)
        }

        if (result.AuthorizationFailure is { } authorization)
        {
            foreach (AuthorizationFailureReason reason in authorization.FailureReasons)
            {
                return reason.Message;
            }

            return authorization.FailCalled ? "Failed" : "RequirementNotMet";
        }

        return result.Challenged ? DenialReasons.NoCallerIdentity : "Forbidden";
    }
}

/// <summary>Authorization audit events (event ids 1400–1499).</summary>
internal static partial class AuthorizationLog
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Warning, Message = "SecureComms denied {Caller} (user {User}) {Method} {Route}: {Reason}, rule {Rule} ({StatusCode})")]
    internal static partial void RequestDenied(ILogger logger, string caller, string user, string method, string route, string reason, string rule, int statusCode);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "SecureComms allowed {Caller} (user {User}) {Method} {Route}: {Reason}, rule {Rule}")]
    internal static partial void RequestAllowed(ILogger logger, SpiffeId caller, string user, string method, string route, string reason, string rule);
}
