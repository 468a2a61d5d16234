using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.TokenValidation;

/// <summary>
/// Requests on one kept-alive connection find their validated token by the <c>Authorization</c> string object Kestrel
/// reuses, without hashing it again; the certificate binding is still checked on every request, including behind a
/// trusted proxy whose one connection carries the calls of several workloads.
/// </summary>
[TestClass]
public sealed class TokenOnOneConnectionTests
{
    private const string Audience = "https://billing.example.org";
    private static TestIssuer s_issuer = null!;
    private static SecureServiceHost s_billing = null!;
    private static WorkloadCertificate s_orders = null!;
    private static WorkloadCertificate s_analytics = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_orders = TestPki.Issue(TestPki.Orders);
        s_analytics = TestPki.Issue(TestPki.Analytics);
        s_issuer = await TestIssuer.StartAsync();
        s_billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => $"hello {ctx.GetCallerSpiffeId()}").RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = s_issuer.Issuer,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Audience,
                ["SecureComms:TokenValidation:ValidatedTokenCacheSize"] = "1", // one digest entry: a second token pushes the first out
                ["SecureComms:Server:ForwardedCertificates:Format"] = "EnvoyXfcc",
                ["SecureComms:Server:ForwardedCertificates:TrustedProxies:0"] = "spiffe://example.org/ingress",
            });
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        await s_billing.DisposeAsync();
        await s_issuer.DisposeAsync();
    }

    [TestMethod]
    public async Task SameTokenOnOneConnection_IsFoundByItsHeaderObject_EvenAfterTheDigestCacheDroppedIt()
    {
        ValidatedTokenCache cache = s_billing.App.Services.GetRequiredService<ValidatedTokenCache>();
        string first = s_issuer.Mint(Audience, s_orders);
        string second = s_issuer.Mint(Audience, s_orders);
        using HttpClient connection = TestClients.RawClient(s_orders.Certificate);
        using HttpClient otherConnection = TestClients.RawClient(s_orders.Certificate);

        var statuses = new List<HttpStatusCode> { await SendAsync(connection, first, forwardedCertificate: null) };
        statuses.Add(await SendAsync(otherConnection, second, forwardedCertificate: null)); // the digest cache (size 1) now holds the second token only
        for (int i = 0; i < 4; i++)
        {
            statuses.Add(await SendAsync(connection, first, forwardedCertificate: null));
        }

        Assert.AreSequenceEqual(Enumerable.Repeat(HttpStatusCode.OK, 6).ToList(), statuses);
        Assert.IsTrue(
            cache.TryGet(Sha256Key.Of(second), DateTimeOffset.UtcNow, out _),
            "the first token's later requests never went back to the digest cache (validating it again would have pushed the second out)");
        Assert.AreEqual(1, cache.RememberedHeaderObjects("Bearer " + first), "Kestrel handed every request on the connection one string object");
    }

    [TestMethod]
    public async Task SameTokenOnOneProxyConnection_ForAnotherForwardedWorkload_IsRefusedByTheBinding()
    {
        ValidatedTokenCache cache = s_billing.App.Services.GetRequiredService<ValidatedTokenCache>();
        string token = s_issuer.Mint(Audience, s_orders);
        using HttpClient ingress = TestClients.RawClient(TestPki.Issue(SpiffeId.Parse("spiffe://example.org/ingress")).Certificate);

        HttpStatusCode asOrders = await SendAsync(ingress, token, s_orders);
        HttpStatusCode asAnalytics = await SendAsync(ingress, token, s_analytics);
        HttpStatusCode asOrdersAgain = await SendAsync(ingress, token, s_orders);

        Assert.AreEqual(HttpStatusCode.OK, asOrders);
        Assert.AreEqual(HttpStatusCode.Unauthorized, asAnalytics, "orders' token forwarded for analytics: the binding names another certificate");
        Assert.IsTrue(s_billing.Logs.Contains(1400, "denied spiffe://example.org/analytics (user (none)) GET /invoices: TokenBoundToAnotherCertificate"));
        Assert.AreEqual(HttpStatusCode.OK, asOrdersAgain);
        Assert.AreEqual(1, cache.RememberedHeaderObjects("Bearer " + token), "the refused request was served the remembered token and still refused");
    }

    private static async Task<HttpStatusCode> SendAsync(HttpClient client, string token, WorkloadCertificate? forwardedCertificate)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s_billing.BaseAddress, "/invoices"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (forwardedCertificate is not null)
        {
            request.Headers.TryAddWithoutValidation(
                "x-forwarded-client-cert",
                $"By=spiffe://example.org/billing;Cert=\"{Uri.EscapeDataString(forwardedCertificate.Certificate.ExportCertificatePem())}\"");
        }

        using HttpResponseMessage response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
