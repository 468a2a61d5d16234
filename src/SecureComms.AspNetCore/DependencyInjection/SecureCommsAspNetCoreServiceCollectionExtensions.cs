using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>The one line: <c>builder.Services.AddSecureComms(builder.Configuration)</c>.</summary>
public static class SecureCommsAspNetCoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds SecureComms to an ASP.NET Core service, configured from the <c>SecureComms</c> section: Kestrel listeners
    /// that present the workload SVID (rotating without restart) and require a client SVID over TLS 1.2/1.3, the
    /// caller's SPIFFE ID as <c>HttpContext.User</c>, default-deny authorization (an endpoint opens only through
    /// <c>RequireCaller</c>, a rule in <c>SecureComms:Authorization</c>, or an explicit <c>AllowAnonymous</c>), and the
    /// mutual-TLS clients of <c>SecureComms:Clients</c>. Every setting is validated at start-up. Calling it twice is harmless.
    /// </summary>
    public static ISecureCommsBuilder AddSecureComms(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        bool firstBinding = !SecureCommsServiceCollectionExtensions.IsBound(services, configuration);
        ISecureCommsBuilder builder = services.AddSecureCommsCore(configuration).AddServer();
        if (!firstBinding)
        {
            return builder;
        }

        IConfigurationSection section = configuration.GetSection(SecureCommsOptions.SectionName);
        services.AddOptions<SecureCommsServerOptions>().Bind(section.GetSection("Server"));
        services.AddOptions<SecureCommsTokenValidationOptions>().Bind(section.GetSection("TokenValidation"));
        services.AddOptions<SecureCommsAuthorizationOptions>().Bind(section.GetSection("Authorization"));
        services.AddOptions<SecureCommsRateLimitOptions>().Bind(section.GetSection("Authorization"));
        return builder;
    }

    /// <summary>Adds SecureComms configured in code (see <see cref="AddSecureComms(IServiceCollection, IConfiguration)"/>).</summary>
    public static ISecureCommsBuilder AddSecureComms(this IServiceCollection services, Action<SecureCommsOptions> configure) =>
        services.AddSecureCommsCore(configure).AddServer();

    /// <summary>Configures the server side in code, after configuration binding.</summary>
    public static ISecureCommsBuilder ConfigureServer(this ISecureCommsBuilder builder, Action<SecureCommsServerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Configures access-token validation in code, after configuration binding.</summary>
    public static ISecureCommsBuilder ConfigureTokenValidation(this ISecureCommsBuilder builder, Action<SecureCommsTokenValidationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Configures the central authorization policy in code, after configuration binding.</summary>
    public static ISecureCommsBuilder ConfigureAuthorization(this ISecureCommsBuilder builder, Action<SecureCommsAuthorizationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    private static ISecureCommsBuilder AddServer(this ISecureCommsBuilder builder)
    {
        IServiceCollection services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(ServerTlsOptionsProvider)))
        {
            return builder;
        }

        services.AddOptions<SecureCommsServerOptions>().ValidateOnStart();
        services.AddOptions<SecureCommsAuthorizationOptions>().ValidateOnStart();
        services.AddOptions<SecureCommsTokenValidationOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecureCommsTokenValidationOptions>, SecureCommsTokenValidationOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecureCommsServerOptions>, SecureCommsServerOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecureCommsAuthorizationOptions>, SecureCommsAuthorizationOptionsValidator>());

        services.TryAddSingleton<SecureCommsServerMetrics>();
        services.AddSingleton<ServerTlsOptionsProvider>();

        // The reloadable settings (central policy, rate limits): validated at start-up, then read by requests from their
        // last good compiled form, so a bad edit is refused with a warning instead of throwing (LastGoodOptions).
        services.TryAddSingleton(CentralPolicyProvider.Watch);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILastGoodOptions, LastGoodOptions<CentralPolicy>>(sp => sp.GetRequiredService<LastGoodOptions<CentralPolicy>>()));
        services.TryAddSingleton(CallerRateLimiter.Watch);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILastGoodOptions, LastGoodOptions<CallerRateLimits>>(sp => sp.GetRequiredService<LastGoodOptions<CallerRateLimits>>()));
        services.TryAddSingleton<CallerRateLimiter>();
        services.TryAddSingleton<CentralPolicyProvider>();
        services.AddOptions<SecureCommsRateLimitOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecureCommsRateLimitOptions>, SecureCommsRateLimitOptionsValidator>());
        services.AddRateLimiter(_ => { });
        services.AddOptions<Microsoft.AspNetCore.RateLimiting.RateLimiterOptions>()
            .Configure<CallerRateLimiter>((limiter, callers) =>
            {
                limiter.GlobalLimiter = System.Threading.RateLimiting.PartitionedRateLimiter.Create<Microsoft.AspNetCore.Http.HttpContext, CallerPartition>(callers.Partition);
                limiter.RejectionStatusCode = Microsoft.AspNetCore.Http.StatusCodes.Status429TooManyRequests;
                limiter.OnRejected = CallerRateLimiter.OnRejected(limiter.OnRejected);
            });
        services.TryAddEnumerable(ServiceDescriptor.Transient<Microsoft.AspNetCore.Hosting.IStartupFilter, CallerRateLimitStartupFilter>());
        services.AddTransient<IConfigureOptions<KestrelServerOptions>, KestrelMtlsSetup>();

        services.AddAuthentication(options =>
        {
            options.DefaultScheme ??= SecureCommsDefaults.AuthenticationScheme;
            options.AddScheme(SecureCommsDefaults.AuthenticationScheme, scheme => scheme.HandlerType = typeof(SecureCommsAuthenticationHandler));
        })
            .AddJwtBearer(AccessTokenJwtBearerSetup.Scheme, _ => { }); // called by the SecureComms handler only, never on its own
        services.TryAddTransient<SecureCommsAuthenticationHandler>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerOptions>, AccessTokenJwtBearerSetup>());
        services.TryAddSingleton<ValidatedTokenCache>();
        services.TryAddSingleton<JwtSvidValidator>();
        services.TryAddSingleton<TokenIntrospector>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, JwtSvidBundleStartup>());
        services.AddHealthChecks().Add(new HealthCheckRegistration(
            SecureCommsHealthChecks.JwtBundles,
            sp => new JwtBundleHealthCheck(sp.GetRequiredService<IOptions<SecureCommsTokenValidationOptions>>().Value.AcceptJwtSvids ? sp.GetRequiredService<WorkloadApiJwtBundleSource>() : null),
            failureStatus: null,
            tags: [SecureCommsHealthChecks.Tag]));
        services.TryAddSingleton<SecureCommsAuthenticationServices>();
        services.TryAddSingleton<IServedRequestAccessor, AmbientRequest>(); // outbound clients read the request being served
        services.TryAddEnumerable(ServiceDescriptor.Transient<Microsoft.AspNetCore.Hosting.IStartupFilter, AmbientRequestStartupFilter>());

        // Default deny (least privilege): an endpoint without authorization metadata, or with a bare [Authorize],
        // answers only callers that a central rule allows.
        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<IOptions<Microsoft.AspNetCore.Authentication.AuthenticationOptions>>((authorization, authentication) =>
        {
            AuthorizationPolicy defaultDeny = SecureCommsAuthorizationPolicies.Create(authentication.Value, CentralPolicyRequirement.Instance);
            authorization.FallbackPolicy = defaultDeny;
            authorization.DefaultPolicy = defaultDeny;
        });
        services.TryAddSingleton<CentralPolicyCheck>();
        services.TryAddSingleton<SecureCommsAuthorizationHandler>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, SecureCommsAuthorizationHandler>());

        // SecureComms' own policies are decided without the per-request authorization service when nothing else could
        // observe the difference (SecureCommsPolicyEvaluator); an evaluator the application registered is kept.
        if (services.LastOrDefault(d => d.ServiceType == typeof(Microsoft.AspNetCore.Authorization.Policy.IPolicyEvaluator) && !d.IsKeyedService) is not { } evaluator
            || evaluator.ImplementationType == typeof(Microsoft.AspNetCore.Authorization.Policy.PolicyEvaluator))
        {
            services.AddSingleton(new AuthorizationComposition(services));
            services.Replace(ServiceDescriptor.Singleton<Microsoft.AspNetCore.Authorization.Policy.IPolicyEvaluator, SecureCommsPolicyEvaluator>());
        }

        // In front of the application's own result handler (registered before this call), which it calls for what
        // SecureComms does not answer itself.
        AuthorizationResultHandlerComposition.Register(services);
        return builder;
    }
}
