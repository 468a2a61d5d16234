using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SecureComms.Benchmarks.Server;

/// <summary>
/// ASP.NET Core's own authentication and authorization with nothing behind them: a scheme that returns a prebuilt principal
/// in a new ticket and a policy that always succeeds. What any scheme pays per request (handler, result, ticket, authorization
/// context), so the benchmark can tell SecureComms' share from the framework's.
/// </summary>
internal static class FrameworkOnlyAuthentication
{
    public const string Scheme = "FrameworkOnly";

    public static (ServiceProvider Services, AuthorizationPolicy Policy) Build()
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Critical));
        AddScheme(services);
        services.AddAuthorization();
        // No scheme named: the scheme is the default, so the authentication middleware's result is used (as SecureComms does).
        AuthorizationPolicy policy = new AuthorizationPolicyBuilder().RequireAssertion(_ => true).Build();
        return (services.BuildServiceProvider(), policy);
    }

    /// <summary>Adds the scheme as the default authentication scheme.</summary>
    public static void AddScheme(IServiceCollection services) =>
        services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, PrebuiltResultHandler>(Scheme, null);

    private sealed class PrebuiltResultHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        private static readonly ClaimsPrincipal Principal = new(new ClaimsIdentity(FrameworkOnlyAuthentication.Scheme));

        // What every scheme does per request: a ticket (with its properties) and a result; the principal is prebuilt.
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
            Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(Principal, FrameworkOnlyAuthentication.Scheme)));
    }
}
