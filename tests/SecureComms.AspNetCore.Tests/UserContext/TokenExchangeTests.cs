using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.UserContext;

/// <summary>
/// The alternative with an authorization server: OAuth 2.0 Token Exchange (RFC 8693) against the development token
/// server, on real Kestrel services with real mutual TLS. The gateway calls orders with the user's token; orders'
/// "billing" client exchanges it for one restricted to billing and bound to orders' certificate; billing sees the user
/// as the subject and orders as the actor.
/// </summary>
[TestClass]
public sealed class TokenExchangeTests
{
    private const string OrdersResource = "https://orders.example.org";
    private const string BillingResource = "https://billing.example.org";
    private static readonly SpiffeId Gateway = SpiffeId.Parse("spiffe://example.org/gateway");
    private static readonly SpiffeId TokenServer = SpiffeId.Parse("spiffe://example.org/token-server");
    private static DevelopmentTokenServer s_tokens = null!;
    private static SecureServiceHost s_billing = null!;
    private static SecureServiceHost s_orders = null!;
    private static WorkloadCertificate s_gatewaySvid = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_gatewaySvid = TestPki.Issue(Gateway);
        s_tokens = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = TestPki.Issue(TokenServer),
            ClientTrust = TestPki.Ca.CreateTrustBundle(),
            Clients =
            [
                new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TestPki.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [BillingResource], ExchangeableAudiences = [OrdersResource] },
            ],
        });
        string authority = s_tokens.Issuer.GetLeftPart(UriPartial.Authority);

        s_billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) =>
                $"caller={ctx.GetCallerSpiffeId()} sub={ctx.User.FindFirst("sub")?.Value} client_id={ctx.User.FindFirst("client_id")?.Value} role={ctx.User.FindFirst("role")?.Value} act={ctx.User.FindFirst("act")?.Value}")
                .RequireCaller(TestPki.Orders.ToString()),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = authority,
                ["SecureComms:TokenValidation:ExpectedServer"] = TokenServer.ToString(),
                ["SecureComms:TokenValidation:Audience"] = BillingResource,
            });

        s_orders = await SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/checkout", async (HttpContext ctx, IHttpClientFactory clients) =>
                {
                    using HttpResponseMessage response = await clients.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative));
                    return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                }).RequireCaller(Gateway.ToString());

                // Exchanges a subject token given in the query instead of the incoming one, and reports the outcome.
                app.MapGet("/exchange-explicit", async (string subject, IHttpClientFactory clients) =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/invoices", UriKind.Relative));
                    request.Options.Set(SecureCommsTokenExchange.SubjectToken, subject);
                    try
                    {
                        using HttpResponseMessage response = await clients.CreateClient("billing").SendAsync(request);
                        return $"{(int)response.StatusCode}";
                    }
                    catch (TokenAcquisitionException ex)
                    {
                        return ex.Error;
                    }
                }).RequireCaller(Gateway.ToString());
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = authority,
                ["SecureComms:TokenValidation:ExpectedServer"] = TokenServer.ToString(),
                ["SecureComms:TokenValidation:Audience"] = OrdersResource,
                ["SecureComms:Clients:billing:BaseAddress"] = s_billing.BaseAddress.ToString(),
                ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
                ["SecureComms:Clients:billing:Token:Authority"] = authority,
                ["SecureComms:Clients:billing:Token:ExpectedServer"] = TokenServer.ToString(),
                ["SecureComms:Clients:billing:Token:ClientId"] = "orders",
                ["SecureComms:Clients:billing:Token:Resource"] = BillingResource,
                ["SecureComms:Clients:billing:Token:Scope"] = "invoices.read",
                ["SecureComms:Clients:billing:Token:GrantType"] = "TokenExchange",
            });
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        await s_orders.DisposeAsync();
        await s_billing.DisposeAsync();
        await s_tokens.DisposeAsync();
    }

    [TestMethod]
    public async Task UserToken_ExchangedByOrders_ReachesBilling_WithTheUserAsSubject_OrdersAsActor_BoundToOrders()
    {
        string userToken = s_tokens.IssueUserToken("alice", OrdersResource, new Dictionary<string, object> { ["role"] = "buyer" }, boundTo: s_gatewaySvid.Certificate);
        int requestsBefore = s_tokens.TokenRequestCount;

        string first = await CallOrdersAsync("/checkout", userToken);
        string second = await CallOrdersAsync("/checkout", userToken);

        Assert.AreEqual("200 caller=spiffe://example.org/orders sub=alice client_id=orders role=buyer act={\"sub\":\"orders\"}", first);
        Assert.AreEqual(first, second);
        Assert.AreEqual(requestsBefore + 1, s_tokens.TokenRequestCount, "the exchanged token is cached per subject token");
    }

    [TestMethod]
    public async Task SubjectToken_ForAnotherAudience_IsNotExchanged_AndNothingIsSent()
    {
        string forBilling = s_tokens.IssueUserToken("alice", BillingResource, boundTo: s_gatewaySvid.Certificate);
        string forOrders = s_tokens.IssueUserToken("alice", OrdersResource, boundTo: s_gatewaySvid.Certificate);

        Assert.AreEqual("invalid_grant", await CallOrdersAsync("/exchange-explicit?subject=" + Uri.EscapeDataString(forBilling), forOrders));
        Assert.AreEqual("invalid_grant", await CallOrdersAsync("/exchange-explicit?subject=not-a-token", forOrders));
        Assert.AreEqual("200", await CallOrdersAsync("/exchange-explicit?subject=" + Uri.EscapeDataString(forOrders), forOrders));
    }

    private static async Task<string> CallOrdersAsync(string path, string userToken)
    {
        using HttpClient gateway = TestClients.RawClient(s_gatewaySvid.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s_orders.BaseAddress, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", userToken);
        using HttpResponseMessage response = await gateway.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
        return body;
    }
}
