using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureComms.AspNetCore.Tests.Infrastructure;
using Yarp.ReverseProxy.Configuration;

namespace SecureComms.AspNetCore.Tests.Yarp;

/// <summary>
/// A real YARP gateway on loopback (an external HTTPS listener without client certificates, the end user
/// authenticated by an edge scheme) forwarding through SecureComms clients to a real Kestrel backend with mutual TLS:
/// the backend sees the gateway's SPIFFE ID and the minted user, nothing forged from outside arrives, the trace goes
/// on, a backend with the wrong SPIFFE ID is a 502 with the reason logged, and a cluster that cannot be forwarded over
/// SecureComms stops start-up naming what to add.
/// </summary>
[TestClass]
public sealed class ForwardThroughSecureCommsClientsTests
{
    private const string EdgeScheme = "TestUser";
    private const string EndUserPolicy = "end-user";
    private static readonly SpiffeId Gateway = SpiffeId.Parse("spiffe://example.org/gateway");
    private static SecureServiceHost s_backend = null!;
    private static SecureServiceHost s_gateway = null!;
    private static Uri s_edge = null!;
    private static HttpClient s_outside = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        // The backend is "orders": it accepts user contexts minted by the gateway and opens everything to the gateway.
        s_backend = await SecureServiceHost.StartAsync(
            app => app.MapGet("/{**path}", (HttpContext ctx) => Results.Json(new Dictionary<string, string?>
            {
                ["caller"] = ctx.GetCallerSpiffeId().ToString(),
                ["user"] = ctx.User.GetEndUser()?.Subject,
                ["roles"] = string.Join(',', ctx.User.GetEndUser()?.FindAll("role").Select(c => c.Value) ?? []),
                ["actors"] = string.Join(',', ctx.User.GetEndUser()?.Actors ?? []),
                ["headers"] = string.Join(',', ctx.Request.Headers.Keys.Order(StringComparer.OrdinalIgnoreCase)),
                ["traceparent"] = ctx.Request.Headers["traceparent"].ToString(),
            })),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:UserContext:TrustedGateways:0"] = Gateway.ToString(),
                ["SecureComms:Authorization:Rules:0:Name"] = "gateway",
                ["SecureComms:Authorization:Rules:0:Callers:0"] = Gateway.ToString(),
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/*",
            });

        (s_gateway, s_edge) = await StartGatewayAsync(
            [
                Route("orders", "/orders/{**rest}", EndUserPolicy),
                Route("orders", "/public/{**rest}", "anonymous"),
                Route("billing", "/billing/{**rest}", "anonymous"),
            ],
            [Cluster("orders", s_backend.BaseAddress), Cluster("billing", s_backend.BaseAddress)],
            new Dictionary<string, string?>
            {
                ["SecureComms:Clients:orders:ExpectedServer"] = TestPki.Orders.ToString(),
                ["SecureComms:Clients:orders:UserContext:Mode"] = "Mint",
                ["SecureComms:Clients:orders:UserContext:Claims:0"] = "role",

                // Points at orders' address but expects billing: the handshake must refuse orders' SVID.
                ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
            });
        s_outside = TestClients.RawClient((System.Security.Cryptography.X509Certificates.X509Certificate2?)null); // a browser: no client certificate
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        s_outside?.Dispose();
        if (s_gateway is not null)
        {
            await s_gateway.DisposeAsync();
        }

        if (s_backend is not null)
        {
            await s_backend.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task ForwardedRequest_ReachesTheBackend_AsTheGateway_WithTheMintedUser()
    {
        Dictionary<string, string?> seen = await GetJsonAsync("/orders/1", user: "alice;buyer");

        Assert.AreEqual(Gateway.ToString(), seen["caller"], "the backend's caller is the gateway's SVID, checked in the handshake");
        Assert.AreEqual("alice", seen["user"]);
        Assert.AreEqual("buyer", seen["roles"]);
        Assert.AreEqual(Gateway.ToString(), seen["actors"], "the gateway signed the user context");
    }

    [TestMethod]
    public async Task NoEndUser_IsRefusedAtTheEdge_WithoutReachingTheBackend()
    {
        using HttpResponseMessage response = await s_outside.GetAsync(new Uri(s_edge, "/orders/1"));

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [TestMethod]
    public async Task HeadersForgedOutside_AreStripped_BeforeTheBackend()
    {
        string[] forged = ["SecureComms-User-Context", "Client-Cert", "Client-Cert-Chain", "X-Forwarded-Client-Cert", "X-Client-Cert"];
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s_edge, "/public/headers"));
        foreach (string header in forged)
        {
            request.Headers.TryAddWithoutValidation(header, "forged");
        }

        request.Headers.TryAddWithoutValidation("Authorization", "Bearer the-end-users-own-token");
        using HttpResponseMessage response = await s_outside.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();

        // A user-context header that arrived would be refused by the backend (401, UserContextMalformed): 200 shows none did.
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
        string[] headers = JsonSerializer.Deserialize<Dictionary<string, string?>>(body)!["headers"]!.Split(',');
        foreach (string header in forged.Append("Authorization"))
        {
            Assert.DoesNotContain(header, headers, StringComparer.OrdinalIgnoreCase, $"{header} reached the backend");
        }
    }

    [TestMethod]
    public async Task ForgedUserContext_WithAnAuthenticatedUser_IsReplacedByTheMintedOne()
    {
        Dictionary<string, string?> seen = await GetJsonAsync("/orders/2", user: "bob;viewer", ("SecureComms-User-Context", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9."));

        Assert.AreEqual("bob", seen["user"]);
        Assert.AreEqual("viewer", seen["roles"]);
    }

    [TestMethod]
    public async Task TraceContext_GoesOnThroughTheGateway()
    {
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        Dictionary<string, string?> seen = await GetJsonAsync("/orders/3", user: "alice;buyer", ("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01"));

        string[] parts = seen["traceparent"]!.Split('-');
        Assert.HasCount(4, parts, seen["traceparent"]);
        Assert.AreEqual(TraceId, parts[1], "the backend's request belongs to the caller's trace");
        Assert.AreNotEqual("00f067aa0ba902b7", parts[2], "the backend's parent is a span of the gateway, not the caller's span copied through");
    }

    [TestMethod]
    public async Task BackendWithAnotherSpiffeId_Is502_AndTheReasonIsLogged()
    {
        using HttpResponseMessage response = await s_outside.GetAsync(new Uri(s_edge, "/billing/invoices"));

        Assert.AreEqual(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.IsTrue(
            s_gateway.Logs.Contains(1301, $"refused server {TestPki.Orders}: expected exact {TestPki.Billing}"),
            "the SecureComms client logs which server it refused and why");
    }

    [TestMethod]
    public async Task ClusterWithoutSecureCommsClient_StopsStartUp_NamingWhatToAdd()
    {
        Exception error = await Assert.ThrowsAsync<Exception>(
            () => StartGatewayAsync([Route("inventory", "/inventory/{**rest}", "anonymous")], [Cluster("inventory", s_backend.BaseAddress)], new Dictionary<string, string?>()));

        string messages = AllMessages(error);
        Assert.Contains("YARP cluster 'inventory' has no SecureComms client of the same name: add SecureComms:Clients:inventory", messages);
    }

    [TestMethod]
    public async Task ClusterThatWouldWeakenTheClient_StopsStartUp_WithEveryProblemNamed()
    {
        ClusterConfig cluster = Cluster("orders", new Uri("http://127.0.0.1:1/")) with
        {
            HttpClient = new HttpClientConfig { DangerousAcceptAnyServerCertificate = true, SslProtocols = System.Security.Authentication.SslProtocols.Tls12 },
        };

        Exception error = await Assert.ThrowsAsync<Exception>(
            () => StartGatewayAsync(
                [Route("orders", "/orders/{**rest}", "anonymous")],
                [cluster],
                new Dictionary<string, string?> { ["SecureComms:Clients:orders:ExpectedServer"] = TestPki.Orders.ToString() },
                services => services.AddHttpClient("orders").ConfigureSecureCommsHandler(h => h.UseCookies = true)));

        string messages = AllMessages(error);
        Assert.Contains("ReverseProxy:Clusters:orders:Destinations:main:Address 'http://127.0.0.1:1/' must be an absolute https:// address", messages);
        Assert.Contains("ReverseProxy:Clusters:orders:HttpClient:DangerousAcceptAnyServerCertificate would not apply", messages);
        Assert.Contains("ReverseProxy:Clusters:orders:HttpClient:SslProtocols would not apply", messages);
        Assert.Contains("turns cookies on (UseCookies)", messages);
    }

    private static async Task<Dictionary<string, string?>> GetJsonAsync(string path, string user, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s_edge, path));
        request.Headers.Add(TestUserHandler.Header, user);
        foreach ((string name, string value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using HttpResponseMessage response = await s_outside.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
        return JsonSerializer.Deserialize<Dictionary<string, string?>>(body)!;
    }

    private static RouteConfig Route(string cluster, string path, string policy) => new()
    {
        RouteId = $"{cluster}:{path}",
        ClusterId = cluster,
        AuthorizationPolicy = policy,
        Match = new RouteMatch { Path = path },
    };

    private static ClusterConfig Cluster(string id, Uri backend) => new()
    {
        ClusterId = id,
        Destinations = new Dictionary<string, DestinationConfig> { ["main"] = new() { Address = backend.ToString() } },
    };

    /// <summary>
    /// The gateway: SecureComms (its own SVID; its mutual-TLS listener stays, unused here), an external HTTPS listener
    /// without client certificates, the edge scheme, and YARP forwarding through SecureComms clients.
    /// </summary>
    private static async Task<(SecureServiceHost Gateway, Uri Edge)> StartGatewayAsync(
        IReadOnlyList<RouteConfig> routes,
        IReadOnlyList<ClusterConfig> clusters,
        IDictionary<string, string?> settings,
        Action<IServiceCollection>? services = null)
    {
        int edgePort = OpenSsl.FreeLoopbackPort();
        WorkloadCertificate edgeCertificate = TestPki.Issue(Gateway); // any server certificate the outside trusts
        SecureServiceHost gateway = await SecureServiceHost.StartAsync(
            app => app.MapReverseProxy(),
            new InMemoryCertificateSource(TestPki.Issue(Gateway)),
            TestPki.Bundles(),
            settings,
            s =>
            {
                s.Configure<KestrelServerOptions>(k => k.Listen(IPAddress.Loopback, edgePort, l => l.UseHttps(edgeCertificate.Certificate)));
                s.AddAuthentication().AddScheme<AuthenticationSchemeOptions, TestUserHandler>(EdgeScheme, null);
                s.AddAuthorization(o => o.AddPolicy(EndUserPolicy, p => p.AddAuthenticationSchemes(EdgeScheme).RequireAuthenticatedUser()));
                s.AddReverseProxy().LoadFromMemory(routes, clusters).ForwardThroughSecureCommsClients();
                services?.Invoke(s);
            });
        return (gateway, new Uri($"https://127.0.0.1:{edgePort}"));
    }

    private static string AllMessages(Exception error)
    {
        var text = new System.Text.StringBuilder();
        var pending = new Stack<Exception>([error]);
        while (pending.TryPop(out Exception? current))
        {
            text.AppendLine(current.Message);
            if (current is AggregateException aggregate)
            {
                foreach (Exception inner in aggregate.InnerExceptions)
                {
                    pending.Push(inner);
                }
            }
            else if (current.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }

        return text.ToString();
    }

    /// <summary>A stand-in for the edge's user scheme (JwtBearer in the sample): <c>X-Test-User: alice;buyer</c>.</summary>
    private sealed class TestUserHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string Header = "X-Test-User";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers[Header].ToString() is not { Length: > 0 } user)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            string[] parts = user.Split(';');
            var claims = new List<Claim> { new("sub", parts[0]) };
            claims.AddRange(parts.Skip(1).Select(role => new Claim("role", role)));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, EdgeScheme)), EdgeScheme)));
        }
    }
}
