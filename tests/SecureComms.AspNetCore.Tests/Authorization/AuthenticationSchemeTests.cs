using System.Net;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Authorization;

/// <summary>
/// SecureComms' policies name its scheme only when it is not the application's default, so the policy evaluator does
/// not authenticate twice; with another default scheme they still judge the caller's workload identity.
/// </summary>
[TestClass]
public sealed class AuthenticationSchemeTests
{
    [TestMethod]
    public void SecureCommsAsTheDefaultScheme_PoliciesNameNoScheme_OtherwiseTheyNameIt()
    {
        AuthorizationPolicy asDefault = SecureCommsAuthorizationPolicies.Create(new AuthenticationOptions { DefaultScheme = SecureCommsDefaults.AuthenticationScheme }, CentralPolicyRequirement.Instance);
        AuthorizationPolicy besideAnother = SecureCommsAuthorizationPolicies.Create(new AuthenticationOptions { DefaultScheme = "Cookies" }, CentralPolicyRequirement.Instance);
        AuthorizationPolicy anotherForAuthenticate = SecureCommsAuthorizationPolicies.Create(
            new AuthenticationOptions { DefaultScheme = SecureCommsDefaults.AuthenticationScheme, DefaultAuthenticateScheme = "Cookies" }, CentralPolicyRequirement.Instance);

        Assert.IsEmpty(asDefault.AuthenticationSchemes);
        Assert.AreSequenceEqual(new[] { SecureCommsDefaults.AuthenticationScheme }, besideAnother.AuthenticationSchemes.ToArray());
        Assert.AreSequenceEqual(new[] { SecureCommsDefaults.AuthenticationScheme }, anotherForAuthenticate.AuthenticationSchemes.ToArray());
    }

    [TestMethod]
    public async Task AnotherDefaultScheme_RequireCallerAndCentralRules_StillJudgeTheWorkloadIdentity()
    {
        await using SecureServiceHost service = await SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/orders-only", () => "ok").RequireCaller("spiffe://example.org/orders");
                app.MapGet("/reports/daily", () => "report");
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Authorization:Rules:0:Callers:0"] = "spiffe://example.org/orders",
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/reports/*",
            },
            services => services.AddAuthentication(o => o.DefaultScheme = "Anonymous")
                .AddScheme<AuthenticationSchemeOptions, AnonymousHandler>("Anonymous", null));
        (ServiceProvider ordersServices, HttpClient orders) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/billing", service.BaseAddress);
        (ServiceProvider analyticsServices, HttpClient analytics) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Analytics)), "spiffe://example.org/billing", service.BaseAddress);
        await using var _ = ordersServices;
        await using var __ = analyticsServices;

        HttpStatusCode ordersCaller = (await orders.GetAsync(new Uri("/orders-only", UriKind.Relative))).StatusCode;
        HttpStatusCode ordersRule = (await orders.GetAsync(new Uri("/reports/daily", UriKind.Relative))).StatusCode;
        HttpStatusCode analyticsCaller = (await analytics.GetAsync(new Uri("/orders-only", UriKind.Relative))).StatusCode;
        HttpStatusCode analyticsRule = (await analytics.GetAsync(new Uri("/reports/daily", UriKind.Relative))).StatusCode;

        Assert.AreEqual(HttpStatusCode.OK, ordersCaller);
        Assert.AreEqual(HttpStatusCode.OK, ordersRule);
        Assert.AreEqual(HttpStatusCode.Forbidden, analyticsCaller);
        Assert.AreEqual(HttpStatusCode.Forbidden, analyticsRule);
    }

    /// <summary>An application scheme that authenticates nobody, made the default.</summary>
    private sealed class AnonymousHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
    }
}
