using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SecureComms;

/// <summary>
/// How SecureComms' result handler is put in front of the application's: the application's registration (made before
/// <c>AddSecureComms</c>) moves under a private key, with its lifetime, and SecureComms' handler takes its place and
/// calls it. A registration made after <c>AddSecureComms</c> would replace SecureComms' handler outright — the audit
/// events and 403 answers would be gone without a word — so start-up refuses it (<see cref="AuthorizationResultHandlerCheck"/>).
/// </summary>
internal sealed class AuthorizationResultHandlerComposition
{
    private const string ApplicationKey = "SecureComms.ApplicationResultHandler";
    private readonly IServiceCollection _services;
    private readonly ServiceDescriptor _secureComms;

    private AuthorizationResultHandlerComposition(IServiceCollection services, ServiceDescriptor secureComms)
    {
        _services = services;
        _secureComms = secureComms;
    }

    /// <summary>Registers SecureComms' handler around the one the application registered so far, if any.</summary>
    public static void Register(IServiceCollection services)
    {
        ServiceDescriptor? application = null;
        for (int i = services.Count - 1; i >= 0; i--)
        {
            ServiceDescriptor descriptor = services[i];
            if (descriptor.ServiceType == typeof(IAuthorizationMiddlewareResultHandler) && !descriptor.IsKeyedService)
            {
                application ??= descriptor; // the last one is what the application resolves
                services.RemoveAt(i);
            }
        }

        if (application is not null && application.ImplementationType == typeof(AuthorizationMiddlewareResultHandler))
        {
            application = null; // ASP.NET Core's own, registered by AddAuthorization: SecureComms uses its own instance
        }

        ServiceDescriptor secureComms;
        if (application is null)
        {
            secureComms = ServiceDescriptor.Singleton<IAuthorizationMiddlewareResultHandler>(
                sp => ActivatorUtilities.CreateInstance<AuthorizationDecisionHandler>(sp, new AuthorizationMiddlewareResultHandler()));
        }
        else
        {
            services.Add(AsKeyed(application));
            secureComms = new ServiceDescriptor(
                typeof(IAuthorizationMiddlewareResultHandler),
                sp => ActivatorUtilities.CreateInstance<AuthorizationDecisionHandler>(sp, sp.GetRequiredKeyedService<IAuthorizationMiddlewareResultHandler>(ApplicationKey)),
                application.Lifetime);
        }

        services.Add(secureComms);
        services.AddSingleton(new AuthorizationResultHandlerComposition(services, secureComms));
        services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, AuthorizationResultHandlerCheck>());
    }

    /// <summary>The result handler registered after SecureComms', which would replace it, or null.</summary>
    public string? RegisteredAfterSecureComms()
    {
        for (int i = _services.Count - 1; i >= 0; i--)
        {
            ServiceDescriptor descriptor = _services[i];
            if (descriptor.ServiceType == typeof(IAuthorizationMiddlewareResultHandler) && !descriptor.IsKeyedService)
            {
                return ReferenceEquals(descriptor, _secureComms)
                    ? null
                    : (descriptor.ImplementationType ?? descriptor.ImplementationInstance?.GetType())?.FullName ?? "(a factory registration)";
            }
        }

        return null;
    }

    private static ServiceDescriptor AsKeyed(ServiceDescriptor application)
    {
        if (application.ImplementationInstance is { } instance)
        {
            return new ServiceDescriptor(typeof(IAuthorizationMiddlewareResultHandler), ApplicationKey, instance);
        }

        if (application.ImplementationFactory is { } factory)
        {
            return new ServiceDescriptor(typeof(IAuthorizationMiddlewareResultHandler), ApplicationKey, (sp, _) => factory(sp), application.Lifetime);
        }

        return new ServiceDescriptor(typeof(IAuthorizationMiddlewareResultHandler), ApplicationKey, application.ImplementationType!, application.Lifetime);
    }
}

/// <summary>Stops start-up when a result handler registered after <c>AddSecureComms</c> would replace SecureComms'.</summary>
internal sealed class AuthorizationResultHandlerCheck(AuthorizationResultHandlerComposition composition) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next)
    {
        if (composition.RegisteredAfterSecureComms() is { } replacement)
        {
            throw new InvalidOperationException(
                $"The IAuthorizationMiddlewareResultHandler {replacement} was registered after AddSecureComms, so it would replace SecureComms' "
                + "(which records every authorization decision and answers its denials). Register it before AddSecureComms: SecureComms then "
                + "calls it for allowed requests and for the denials of policies that name only your own authentication schemes.");
        }

        return next;
    }
}
