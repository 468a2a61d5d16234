using System.Net;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Authorization;

/// <summary>
/// An application's own <see cref="IAuthorizationMiddlewareResultHandler"/> is wrapped, not replaced: it answers what
/// SecureComms does not (allowed requests, denials under the application's own schemes), never a SecureComms denial.
/// Real Kestrel, real mutual TLS.
/// </summary>
[TestClass]
public sealed class ApplicationResultHandlerTests
{
    private const string ApplicationScheme = "Application";

    [TestMethod]
    public async Task ApplicationHandlerRegisteredBeforeAddSecureComms_AnswersWhatSecureCommsDoesNotDecide()
    {
        var handler = new TeapotResultHandler();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0" });
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler>(handler);
        builder.Services.AddSecureComms(builder.Configuration)
            .UseCertificateSource(new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)))
            .UseTrustBundleSource(TestPki.Bundles());
        builder.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, NobodyHandler>(ApplicationScheme, _ => { });
        await using WebApplication app = builder.Build();
        app.MapGet("/orders-only", () => "ok").RequireCaller(TestPki.Orders.ToString());
        app.MapGet("/analytics-only", () => "ok").RequireCaller(TestPki.Analytics.ToString());
        app.MapGet("/application-scheme", () => "ok").RequireAuthorization(new AuthorizationPolicyBuilder(ApplicationScheme).RequireAuthenticatedUser().Build());
        await app.StartAsync();
        Uri address = new(app.Urls.First(u => u.StartsWith("https://", StringComparison.Ordinal)));
        (ServiceProvider services, HttpClient orders) = TestClients.SecureClient(new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/billing", address);
        await using ServiceProvider _ = services;

        using HttpResponseMessage allowed = await orders.GetAsync(new Uri("/orders-only", UriKind.Relative));
        Assert.AreEqual(HttpStatusCode.OK, allowed.StatusCode);
        Assert.IsTrue(allowed.Headers.Contains(TeapotResultHandler.Header), "an allowed request went through the application's handler");

        using HttpResponseMessage denied = await orders.GetAsync(new Uri("/analytics-only", UriKind.Relative));
        Assert.AreEqual(HttpStatusCode.Forbidden, denied.StatusCode, "SecureComms answers its own denial");
        Assert.Contains("not allowed to call this endpoint", await denied.Content.ReadAsStringAsync());
        Assert.IsFalse(denied.Headers.Contains(TeapotResultHandler.Header), "the application's handler never saw it");

        using HttpResponseMessage applicationDenial = await orders.GetAsync(new Uri("/application-scheme", UriKind.Relative));
        Assert.AreEqual((HttpStatusCode)418, applicationDenial.StatusCode, "a denial under the application's own scheme is the application's to answer");

        Assert.AreEqual(2, handler.Calls, "the application's handler saw the allowed request and its own scheme's denial");
    }

    [TestMethod]
    public async Task ApplicationHandlerRegisteredAfterAddSecureComms_StopsStartup_NamingIt()
    {
        InvalidOperationException error = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => SecureServiceHost.StartAsync(
            app => app.MapGet("/", () => "ok"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            services: s => s.AddSingleton<IAuthorizationMiddlewareResultHandler, TeapotResultHandler>()));

        Assert.Contains(typeof(TeapotResultHandler).FullName!, error.Message);
        Assert.Contains("Register it before AddSecureComms", error.Message);
    }

    /// <summary>An application's handler: marks what it lets through, answers every denial it gets with 418.</summary>
    private sealed class TeapotResultHandler : IAuthorizationMiddlewareResultHandler
    {
        public const string Header = "X-Application-Result-Handler";
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
        {
            Interlocked.Increment(ref _calls);
            if (authorizeResult.Succeeded)
            {
                context.Response.Headers[Header] = "allowed";
                return next(context);
            }

            context.Response.StatusCode = 418;
            return Task.CompletedTask;
        }
    }

    /// <summary>An application scheme that authenticates nobody.</summary>
    private sealed class NobodyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
    }
}
