using System.Diagnostics.Metrics;
using System.Reflection;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// ASP.NET Core's policy evaluator with a shortcut for the policies SecureComms builds (default deny,
/// <c>RequireCaller</c>, <c>RequireScope</c>). Such a policy is decided by <see cref="SecureCommsAuthorizationHandler"/>
/// directly — the same decision and failure reasons ASP.NET Core's authorization service would produce from it —
/// without resolving the authorization service, handler provider and handlers and building a handler context for each
/// request. The shortcut is taken only when nobody could tell the difference: the application's authorization
/// services are ASP.NET Core's own, the only authorization handlers are SecureComms' and the framework's pass-through
/// handler (checked once), nobody listens to ASP.NET Core's <c>aspnetcore.authorization.attempts</c> counter and its
/// authorization service's log is off. Everything else goes through ASP.NET Core's <see cref="PolicyEvaluator"/>.
/// </summary>
internal sealed class SecureCommsPolicyEvaluator : IPolicyEvaluator, IDisposable
{
    private const string FrameworkMeter = "Microsoft.AspNetCore.Authorization";
    private const string FrameworkAttempts = "aspnetcore.authorization.attempts";
    private static readonly Task<PolicyAuthorizationResult> Allowed = Task.FromResult(PolicyAuthorizationResult.Success());

    private readonly SecureCommsAuthorizationHandler _handler;
    private readonly ILogger<DefaultAuthorizationService> _frameworkLog;
    private readonly bool _composedOfDefaults;
    private readonly MeterListener? _listener;
    private Instrument[] _frameworkAttempts = [];

    public SecureCommsPolicyEvaluator(SecureCommsAuthorizationHandler handler, AuthorizationComposition composition, ILogger<DefaultAuthorizationService> frameworkLog, IServiceProvider services)
    {
        _handler = handler;
        _frameworkLog = frameworkLog;
        _composedOfDefaults = composition.IsFrameworkDefault;
        if (!_composedOfDefaults)
        {
            return;
        }

        // ASP.NET Core's authorization counter belongs to this application's meter factory; it is created with the
        // authorization service, so one is resolved now (a transient) to make sure the counter exists to be watched.
        object? meterFactory = services.GetService<IMeterFactory>();
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Name == FrameworkAttempts && instrument.Meter.Name == FrameworkMeter && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    lock (_listener!)
                    {
                        Volatile.Write(ref _frameworkAttempts, [.. _frameworkAttempts, instrument]);
                    }
                }
            },
        };
        _listener.Start();
        _ = services.GetService<IAuthorizationService>();
    }

    public Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context)
    {
        if (policy.AuthenticationSchemes.Count > 0)
        {
            return Framework(context).AuthenticateAsync(policy, context);
        }

        // As ASP.NET Core's evaluator: no scheme named, so the authentication middleware's result stands.
        AuthenticateResult? result = context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult;
        return Task.FromResult(result ?? (context.User.Identity?.IsAuthenticated == true
            ? AuthenticateResult.Success(new AuthenticationTicket(context.User, "context.User"))
            : AuthenticateResult.NoResult()));
    }

    public Task<PolicyAuthorizationResult> AuthorizeAsync(AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(authenticationResult);
        if (!CanDecide(policy))
        {
            return Framework(context).AuthorizeAsync(policy, authenticationResult, context, resource);
        }

        List<AuthorizationFailureReason>? failures = _handler.Decide(context.User, resource, policy.Requirements);
        if (failures is null)
        {
            return Allowed;
        }

        return Task.FromResult(authenticationResult.Succeeded
            ? PolicyAuthorizationResult.Forbid(AuthorizationFailure.Failed(failures))
            : PolicyAuthorizationResult.Challenge());
    }

    /// <summary>Whether the shortcut may decide <paramref name="policy"/> (see the type's remarks).</summary>
    internal bool CanDecide(AuthorizationPolicy policy) =>
        _composedOfDefaults
        && SecureCommsAuthorizationHandler.DecidesAll(policy.Requirements)
        && !_frameworkLog.IsEnabled(LogLevel.Information)
        && !AnyoneCountsFrameworkAttempts();

    private bool AnyoneCountsFrameworkAttempts()
    {
        foreach (Instrument instrument in Volatile.Read(ref _frameworkAttempts))
        {
            if (instrument.Enabled)
            {
                return true;
            }
        }

        return false;
    }

    private static PolicyEvaluator Framework(HttpContext context) =>
        new(context.RequestServices.GetRequiredService<IAuthorizationService>());

    public void Dispose() => _listener?.Dispose();
}

/// <summary>
/// Whether the application's authorization is composed of ASP.NET Core's own services plus SecureComms' handler:
/// read once from the service registrations, after the application has added its own.
/// </summary>
internal sealed class AuthorizationComposition(IServiceCollection services)
{
    private readonly Lazy<bool> _isFrameworkDefault = new(() => Inspect(services));

    /// <summary>
    /// The authorization service, handler provider, evaluator and handler-context factory are ASP.NET Core's, and the
    /// only authorization handlers are SecureComms' and the framework's pass-through handler.
    /// </summary>
    public bool IsFrameworkDefault => _isFrameworkDefault.Value;

    private static bool Inspect(IServiceCollection services)
    {
        Assembly framework = typeof(IAuthorizationService).Assembly;
        foreach (Type service in new[] { typeof(IAuthorizationService), typeof(IAuthorizationHandlerProvider), typeof(IAuthorizationEvaluator), typeof(IAuthorizationHandlerContextFactory) })
        {
            ServiceDescriptor? last = services.LastOrDefault(d => d.ServiceType == service && !d.IsKeyedService);
            if (last is null || last.ImplementationType?.Assembly != framework)
            {
                return false;
            }
        }

        return services.All(d => d.ServiceType != typeof(IAuthorizationHandler) || d.IsKeyedService
            || d.ImplementationType == typeof(PassThroughAuthorizationHandler)
            || d.ImplementationType == typeof(SecureCommsAuthorizationHandler));
    }
}
