using System.Net;
using Microsoft.AspNetCore.Builder;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Server;

/// <summary>Rate limits are per caller SPIFFE ID: one noisy workload cannot spend another's budget.</summary>
[TestClass]
public sealed class CallerRateLimitTests
{
    [TestMethod]
    public async Task CallerOverItsBudget_Gets429_WhileOtherCallersAreUnaffected()
    {
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", () => "ok").RequireCaller("spiffe://example.org/*"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Authorization:RateLimits:0:Callers:0"] = "spiffe://example.org/analytics",
                ["SecureComms:Authorization:RateLimits:0:PermitLimit"] = "3",
                ["SecureComms:Authorization:RateLimits:0:Window"] = "00:01:00",
            });
        using HttpClient analytics = TestClients.RawClient(TestPki.Issue(TestPki.Analytics).Certificate);
        using HttpClient orders = TestClients.RawClient(TestPki.Issue(TestPki.Orders).Certificate);

        var analyticsStatuses = new List<HttpStatusCode>();
        var ordersStatuses = new List<HttpStatusCode>();
        for (int i = 0; i < 5; i++)
        {
            analyticsStatuses.Add((await analytics.GetAsync(new Uri(billing.BaseAddress, "/invoices"))).StatusCode);
            ordersStatuses.Add((await orders.GetAsync(new Uri(billing.BaseAddress, "/invoices"))).StatusCode);
        }

        Assert.AreSequenceEqual(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests }, analyticsStatuses);
        Assert.IsTrue(ordersStatuses.All(s => s == HttpStatusCode.OK), "orders has no limit and is not slowed by analytics");
    }
}
