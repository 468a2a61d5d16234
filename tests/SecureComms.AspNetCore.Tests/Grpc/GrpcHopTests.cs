using System.Net;
using System.Security.Claims;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Grpc;

/// <summary>
/// End-user identity across gRPC hops, on real Kestrel services with real mutual TLS: orders serves gRPC and calls
/// billing over gRPC with a gRPC client from the client factory. With a user context, the gateway mints it and orders
/// forwards it; with token exchange (RFC 8693), orders exchanges the user's token it was called with. Billing sees the user.
/// </summary>
[TestClass]
public sealed class GrpcHopTests
{
    private const string OrdersResource = "https://orders.example.org";
    private const string BillingResource = "https://billing.example.org";
    private static readonly SpiffeId Gateway = SpiffeId.Parse("spiffe://example.org/gateway");
    private static readonly SpiffeId Frontend = SpiffeId.Parse("spiffe://example.org/frontend");
    private static readonly SpiffeId TokenServerId = SpiffeId.Parse("spiffe://example.org/token-server");

    [TestMethod]
    public async Task UserContext_MintedByTheGateway_ForwardedByOrdersOverGrpc_BillingSeesTheUser_AndDecidesOnIt()
    {
        var calls = new GrpcCalls();

        // billing: orders may read the ledger only for a buyer.
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGrpcService<LedgerService>(),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:UserContext:TrustedGateways:0"] = Gateway.ToString(),
                ["SecureComms:UserContext:TrustedForwarders:0"] = TestPki.Orders.ToString(),
                ["SecureComms:Authorization:Rules:0:Callers:0"] = TestPki.Orders.ToString(),
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/securecomms.test.Ledger/Get",
                ["SecureComms:Authorization:Rules:0:UserClaims:role"] = "buyer",
            },
            services => services.AddGrpc().Services.AddSingleton(calls));

        // orders: serves the checkout over gRPC to the gateway, calls billing's ledger over gRPC, forwarding the context.
        await using SecureServiceHost orders = await SecureServiceHost.StartAsync(
            app => app.MapGrpcService<CheckoutService>().RequireCaller(Gateway.ToString()),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:UserContext:TrustedGateways:0"] = Gateway.ToString(),
                ["SecureComms:Clients:billing:BaseAddress"] = billing.BaseAddress.ToString(),
                ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
                ["SecureComms:Clients:billing:UserContext:Mode"] = "Forward",
            },
            services =>
            {
                services.AddGrpc();
                services.AddSingleton(calls);
                services.AddGrpcClient<Ledger.LedgerClient>("billing");
            });

        // gateway: the edge. A stand-in for any ASP.NET Core user scheme puts the user on HttpContext.User; /buy calls
        // orders' checkout over gRPC with a client minting the user context.
        await using SecureServiceHost gateway = await SecureServiceHost.StartAsync(
            app =>
            {
                app.Use((ctx, next) =>
                {
                    if (ctx.Request.Headers["X-Test-User"].ToString() is { Length: > 0 } user)
                    {
                        string[] parts = user.Split(';');
                        ctx.User.AddIdentity(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, parts[0]), new Claim(ClaimTypes.Role, parts[1])], "EdgeCookie"));
                    }

                    return next(ctx);
                });
                app.MapGet("/buy", async (Checkout.CheckoutClient checkout) =>
                {
                    try
                    {
                        EntryReply reply = await checkout.BuyAsync(new EntryRequest { Id = "inv-3" }, deadline: GrpcClientTests.Deadline());
                        return $"OK {reply.Detail}";
                    }
                    catch (RpcException e)
                    {
                        return $"{e.StatusCode} {e.Status.Detail}";
                    }
                }).RequireCaller(Frontend.ToString());
            },
            new InMemoryCertificateSource(TestPki.Issue(Gateway)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Clients:orders:BaseAddress"] = orders.BaseAddress.ToString(),
                ["SecureComms:Clients:orders:ExpectedServer"] = TestPki.Orders.ToString(),
                ["SecureComms:Clients:orders:UserContext:Mode"] = "Mint",
                ["SecureComms:Clients:orders:UserContext:Claims:0"] = "role",
            },
            services => services.AddGrpcClient<Checkout.CheckoutClient>("orders"));

        using HttpClient frontend = TestClients.RawClient(TestPki.Issue(Frontend).Certificate);
        string buyer = await BuyAsync(frontend, gateway, "alice;buyer");
        string viewer = await BuyAsync(frontend, gateway, "bob;viewer");

        Assert.StartsWith("OK billing saw caller=spiffe://example.org/orders user=alice ", buyer);
        Assert.StartsWith("PermissionDenied ", viewer, "billing's rule needs a buyer: its PermissionDenied reached orders, which answered the gateway with it");
        Assert.AreEqual(1, calls.Runs("Get"), "billing's ledger ran for the buyer only");
        Assert.IsTrue(billing.Logs.Contains(1400, "NoMatchingRule"), "the denial is audited");
    }

    [TestMethod]
    public async Task UserToken_ExchangedByOrdersOnAGrpcCall_ReachesBillingOverGrpc_WithTheUserAsSubject_AndOrdersAsActor()
    {
        WorkloadCertificate gatewaySvid = TestPki.Issue(Gateway);
        await using DevelopmentTokenServer tokens = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = TestPki.Issue(TokenServerId),
            ClientTrust = TestPki.Ca.CreateTrustBundle(),
            Clients =
            [
                new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TestPki.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [BillingResource], ExchangeableAudiences = [OrdersResource] },
            ],
        });
        string authority = tokens.Issuer.GetLeftPart(UriPartial.Authority);
        var calls = new GrpcCalls();
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGrpcService<LedgerService>().RequireCaller(TestPki.Orders.ToString()).RequireScope("invoices.read"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = authority,
                ["SecureComms:TokenValidation:ExpectedServer"] = TokenServerId.ToString(),
                ["SecureComms:TokenValidation:Audience"] = BillingResource,
            },
            services => services.AddGrpc().Services.AddSingleton(calls));
        await using SecureServiceHost orders = await SecureServiceHost.StartAsync(
            app => app.MapGrpcService<CheckoutService>().RequireCaller(Gateway.ToString()),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = authority,
                ["SecureComms:TokenValidation:ExpectedServer"] = TokenServerId.ToString(),
                ["SecureComms:TokenValidation:Audience"] = OrdersResource,
                ["SecureComms:Clients:billing:BaseAddress"] = billing.BaseAddress.ToString(),
                ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
                ["SecureComms:Clients:billing:Token:Authority"] = authority,
                ["SecureComms:Clients:billing:Token:ExpectedServer"] = TokenServerId.ToString(),
                ["SecureComms:Clients:billing:Token:ClientId"] = "orders",
                ["SecureComms:Clients:billing:Token:Resource"] = BillingResource,
                ["SecureComms:Clients:billing:Token:Scope"] = "invoices.read",
                ["SecureComms:Clients:billing:Token:GrantType"] = "TokenExchange",
            },
            services =>
            {
                services.AddGrpc();
                services.AddSingleton(calls);
                services.AddGrpcClient<Ledger.LedgerClient>("billing");
            });

        // The gateway: a plain Grpc.Net.Client channel with the user's token, bound to the gateway's certificate.
        string userToken = tokens.IssueUserToken("alice", OrdersResource, boundTo: gatewaySvid.Certificate);
        using GrpcChannel channel = GrpcChannel.ForAddress(orders.BaseAddress, new GrpcChannelOptions { HttpClient = TestClients.RawClient(gatewaySvid), DisposeHttpClient = true });
        EntryReply reply = await new Checkout.CheckoutClient(channel).BuyAsync(
            new EntryRequest { Id = "inv-4" },
            new CallOptions(new Metadata { { "authorization", "Bearer " + userToken } }, GrpcClientTests.Deadline()));

        Assert.StartsWith("billing saw caller=spiffe://example.org/orders user= get sub=alice act={\"sub\":\"orders\"} ", reply.Detail);
        Assert.AreEqual(1, tokens.TokenRequestCount, "one exchange");
    }

    private static async Task<string> BuyAsync(HttpClient frontend, SecureServiceHost gateway, string user)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.BaseAddress, "/buy"));
        request.Headers.Add("X-Test-User", user);
        using HttpResponseMessage response = await frontend.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
        return body;
    }
}
