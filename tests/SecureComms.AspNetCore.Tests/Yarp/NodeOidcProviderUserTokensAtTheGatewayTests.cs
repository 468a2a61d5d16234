using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;
using SecureComms.Tests.Tokens.Interop;
using Yarp.ReverseProxy.Configuration;

namespace SecureComms.AspNetCore.Tests.Yarp;

/// <summary>
/// End users signed in at the real node-oidc-provider (the authorization code flow with PKCE through its own login and
/// consent pages) call a real YARP gateway with the JWT access token it issued them (<c>typ: at+jwt</c>, no
/// <c>nbf</c>): JwtBearer at the edge accepts it as samples/gateway-yarp configures JwtBearer, the gateway mints the
/// user context with its SVID and forwards over mutual TLS, and the backend's rule reads the user and her role. A
/// request without a token, or with a token for another audience, expired, or altered, is 401 at the edge and never
/// reaches the backend.
/// </summary>
[TestClass]
public sealed class NodeOidcProviderUserTokensAtTheGatewayTests
{
    private const string GatewayAudience = "https://gateway.example.org";
    private const string OtherAudience = "https://billing.example.org";
    private const string AppClientId = "shop-app";
    private const string Scope = "openid orders.read";
    private const string EndUserPolicy = "end-user";
    private static readonly Uri AppRedirect = new("https://app.example.org/signed-in");
    private static readonly SpiffeId Gateway = SpiffeId.Parse("spiffe://example.org/gateway");
    private static readonly SpiffeId TokenServer = SpiffeId.Parse("spiffe://example.org/token-server");
    private static readonly SemaphoreSlim s_starting = new(1, 1);
    private static Deployment? s_deployment;
    private static int s_backendRequests;

    [ClassCleanup]
    public static async Task StopAsync()
    {
        if (s_deployment is not null)
        {
            await s_deployment.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task AliceSignedInAtTheProvider_ReachesTheBackend_AsHerself_WithHerRole()
    {
        Deployment env = await StartAsync();
        string token = await SignInAsync(env, "alice", GatewayAudience);

        using HttpResponseMessage response = await CallAsync(env, token);
        string body = await response.Content.ReadAsStringAsync();

        var jwt = new JsonWebToken(token);
        Assert.AreEqual("at+jwt", jwt.Typ, "RFC 9068 §2.1: the provider types its access tokens");
        Assert.IsFalse(jwt.TryGetPayloadValue("nbf", out long _), "node-oidc-provider issues access tokens without nbf");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, $"{response.Headers.WwwAuthenticate} {body} — provider: {env.Provider.Errors}");
        Dictionary<string, string?> seen = JsonSerializer.Deserialize<Dictionary<string, string?>>(body)!;
        Assert.AreEqual(Gateway.ToString(), seen["caller"], "the backend's caller is the gateway's SVID");
        Assert.AreEqual("alice", seen["user"], "the provider's sub for alice, carried in the user context the gateway minted");
        Assert.AreEqual("buyer", seen["roles"], "the provider's role claim, which the backend's rule requires");
        Assert.AreEqual(Gateway.ToString(), seen["actors"], "the gateway signed the user context");
    }

    [TestMethod]
    public async Task BobSignedInAtTheProvider_WithoutTheBuyerRole_IsRefusedByTheBackendsRule()
    {
        Deployment env = await StartAsync();
        string token = await SignInAsync(env, "bob", GatewayAudience);

        using HttpResponseMessage response = await CallAsync(env, token);

        Assert.AreEqual(HttpStatusCode.Forbidden, response.StatusCode, "the gateway let bob through; the backend's rule (role buyer) did not");
        string denials = string.Join(" | ", env.Backend.Logs.GetSnapshot().Where(r => r.Id.Id == 1400).Select(r => r.Message));
        Assert.Contains($"denied {Gateway} (user bob) GET", denials, "the backend saw bob and logged why it refused him");
    }

    [TestMethod]
    [DataRow("no token", null)]
    [DataRow("a token for another audience", "The audience")]
    [DataRow("an expired token", "The token expired at")]
    [DataRow("a token with its signature altered", "The signature is invalid")]
    [DataRow("bob's token with his role edited to buyer", "The signature is invalid")]
    public async Task RequestTheGatewayMustRefuse_Is401AtTheEdge_AndNeverReachesTheBackend(string attack, string? reason)
    {
        Deployment env = await StartAsync();
        string? token = attack switch
        {
            "no token" => null,
            "a token for another audience" => await OtherAudienceTokenAsync(env),
            "an expired token" => await ExpiredTokenAsync(env),
            "a token with its signature altered" => WithSignatureAltered(await SignInAsync(env, "alice", GatewayAudience)),
            "bob's token with his role edited to buyer" => WithPayloadEdited(await SignInAsync(env, "bob", GatewayAudience), "\"role\":\"viewer\"", "\"role\":\"buyer\""),
            _ => throw new ArgumentOutOfRangeException(nameof(attack)),
        };
        int backendRequestsBefore = Volatile.Read(ref s_backendRequests);

        using HttpResponseMessage response = await CallAsync(env, token);

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode, attack);
        string challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.StartsWith("Bearer", challenge, attack);
        if (token is null)
        {
            Assert.DoesNotContain("error=", challenge, "RFC 6750 §3.1: no error code when the request carried no token");
        }
        else
        {
            Assert.Contains("error=\"invalid_token\"", challenge, $"RFC 6750 §3.1 for {attack}");
            Assert.Contains(reason!, challenge, $"refused for the reason of the row, not another: {attack}");
        }

        Assert.AreEqual(backendRequestsBefore, Volatile.Read(ref s_backendRequests), $"{attack} reached the backend");
    }

    private static async Task<string> OtherAudienceTokenAsync(Deployment env)
    {
        string token = await SignInAsync(env, "alice", OtherAudience);
        Assert.AreEqual(OtherAudience, new JsonWebToken(token).Audiences.Single(), "the provider issued alice a valid token, for billing's audience");
        return token;
    }

    private static async Task<string> ExpiredTokenAsync(Deployment env)
    {
        // Issued by the provider with its keys for the gateway's audience, but with iat and exp two hours back: expired
        // an hour ago, far beyond JwtBearer's default five-minute clock skew.
        await env.Provider.SetTokenClockLagAsync(TimeSpan.FromHours(2));
        try
        {
            string token = await SignInAsync(env, "alice", GatewayAudience);
            Assert.IsLessThan(DateTime.UtcNow.AddMinutes(-30), new JsonWebToken(token).ValidTo, "the provider issued an expired token");
            return token;
        }
        finally
        {
            await env.Provider.SetTokenClockLagAsync(TimeSpan.Zero);
        }
    }

    private static Task<string> SignInAsync(Deployment env, string login, string resource) =>
        AuthorizationCodeSignIn.AccessTokenAsync(env.Provider, AppClientId, AppRedirect, Scope, resource, login);

    private static string WithSignatureAltered(string token)
    {
        string[] parts = token.Split('.');
        byte[] signature = Base64Url.DecodeFromChars(parts[2]);
        signature[0] ^= 0x01;
        return $"{parts[0]}.{parts[1]}.{Base64Url.EncodeToString(signature)}";
    }

    private static string WithPayloadEdited(string token, string from, string to)
    {
        string[] parts = token.Split('.');
        string payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1]));
        Assert.Contains(from, payload, "the claim to edit is in the token");
        return $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.Replace(from, to, StringComparison.Ordinal)))}.{parts[2]}";
    }

    private static async Task<HttpResponseMessage> CallAsync(Deployment env, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(env.Edge, "/orders/1"));
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        HttpResponseMessage response = await env.Outside.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>
    /// The provider, the backend and the gateway, started once for the class by its first test (each test first skips
    /// when Node or the package is missing, as every interop test does).
    /// </summary>
    private static async Task<Deployment> StartAsync()
    {
        NodeOidcProvider.RequireOrSkip();
        await s_starting.WaitAsync();
        try
        {
            return s_deployment ??= await Deployment.StartAsync();
        }
        finally
        {
            s_starting.Release();
        }
    }

    private sealed class Deployment : IAsyncDisposable
    {
        private readonly TemporaryFolder _dir;

        private Deployment(TemporaryFolder dir, NodeOidcProvider provider, SecureServiceHost backend, SecureServiceHost gateway, Uri edge, HttpClient outside)
        {
            _dir = dir;
            Provider = provider;
            Backend = backend;
            GatewayHost = gateway;
            Edge = edge;
            Outside = outside;
        }

        public NodeOidcProvider Provider { get; }

        public SecureServiceHost Backend { get; }

        public SecureServiceHost GatewayHost { get; }

        public Uri Edge { get; }

        /// <summary>A browser or app: no client certificate.</summary>
        public HttpClient Outside { get; }

        public static async Task<Deployment> StartAsync()
        {
            var dir = new TemporaryFolder();
            string serverPem = Path.Combine(dir.Path, "server.pem");
            string serverKey = Path.Combine(dir.Path, "server.key");
            string caPem = Path.Combine(dir.Path, "ca.pem");
            DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(TokenServer), serverPem, serverKey);
            TestPki.Ca.WriteTrustBundlePem(caPem);

            // The identity provider: alice is a buyer, bob a viewer; the shop's app is a public client (PKCE, no secret).
            NodeOidcProvider provider = await NodeOidcProvider.StartAsync(
                new
                {
                    serverCertPath = serverPem,
                    serverKeyPath = serverKey,
                    caPath = caPem,
                    resource = GatewayAudience,
                    otherResources = new[] { OtherAudience },
                    scopes = new[] { "orders.read" },
                    users = new Dictionary<string, object>
                    {
                        ["alice"] = new { role = "buyer" },
                        ["bob"] = new { role = "viewer" },
                    },
                    clients = new[]
                    {
                        new Dictionary<string, object>
                        {
                            ["client_id"] = AppClientId,
                            ["grant_types"] = new[] { "authorization_code" },
                            ["response_types"] = new[] { "code" },
                            ["redirect_uris"] = new[] { AppRedirect.ToString() },
                            ["token_endpoint_auth_method"] = "none",
                            ["tls_client_certificate_bound_access_tokens"] = false, // a browser's app has no certificate
                            ["scope"] = Scope,
                        },
                    },
                },
                dir.Path);

            // The backend: the gateway's calls only, and only for a user with the role buyer (read from the user context).
            SecureServiceHost backend = await SecureServiceHost.StartAsync(
                app => app.MapGet("/{**path}", (HttpContext ctx) =>
                {
                    Interlocked.Increment(ref s_backendRequests);
                    return Results.Json(new Dictionary<string, string?>
                    {
                        ["caller"] = ctx.GetCallerSpiffeId().ToString(),
                        ["user"] = ctx.User.GetEndUser()?.Subject,
                        ["roles"] = string.Join(',', ctx.User.GetEndUser()?.FindAll("role").Select(c => c.Value) ?? []),
                        ["actors"] = string.Join(',', ctx.User.GetEndUser()?.Actors ?? []),
                    });
                }),
                new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)),
                TestPki.Bundles(),
                new Dictionary<string, string?>
                {
                    ["SecureComms:UserContext:TrustedGateways:0"] = Gateway.ToString(),
                    ["SecureComms:Authorization:Rules:0:Name"] = "gateway-for-buyers",
                    ["SecureComms:Authorization:Rules:0:Callers:0"] = Gateway.ToString(),
                    ["SecureComms:Authorization:Rules:0:Paths:0"] = "/orders/*",
                    ["SecureComms:Authorization:Rules:0:UserClaims:role"] = "buyer",
                });

            // The gateway, with JwtBearer as samples/gateway-yarp sets it up: the provider's metadata and keys over the
            // SecureComms client "identity" (the provider's certificate is an SVID of the test CA, checked by SPIFFE ID).
            int edgePort = OpenSsl.FreeLoopbackPort();
            WorkloadCertificate edgeCertificate = TestPki.Issue(Gateway);
            SecureServiceHost gateway = await SecureServiceHost.StartAsync(
                app => app.MapReverseProxy(),
                new InMemoryCertificateSource(TestPki.Issue(Gateway)),
                TestPki.Bundles(),
                new Dictionary<string, string?>
                {
                    ["SecureComms:Clients:orders:ExpectedServer"] = TestPki.Orders.ToString(),
                    ["SecureComms:Clients:orders:UserContext:Mode"] = "Mint",
                    ["SecureComms:Clients:orders:UserContext:Claims:0"] = "role",
                    ["SecureComms:Clients:identity:ExpectedServer"] = TokenServer.ToString(),
                },
                s =>
                {
                    s.Configure<KestrelServerOptions>(k => k.Listen(IPAddress.Loopback, edgePort, l => l.UseHttps(edgeCertificate.Certificate)));
                    s.AddAuthentication().AddJwtBearer(o =>
                    {
                        o.Authority = provider.Issuer.ToString();
                        o.Audience = GatewayAudience;
                        o.MapInboundClaims = false;
                        o.TokenValidationParameters.NameClaimType = "sub";
                        o.TokenValidationParameters.RoleClaimType = "role";
                    });
                    s.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
                        .Configure<IHttpMessageHandlerFactory>((o, handlers) => o.BackchannelHttpHandler = handlers.CreateHandler("identity"));
                    s.AddAuthorization(o => o.AddPolicy(EndUserPolicy, p => p.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme).RequireAuthenticatedUser()));
                    s.AddReverseProxy()
                        .LoadFromMemory(
                            [new RouteConfig { RouteId = "orders", ClusterId = "orders", AuthorizationPolicy = EndUserPolicy, Match = new RouteMatch { Path = "/orders/{**rest}" } }],
                            [new ClusterConfig { ClusterId = "orders", Destinations = new Dictionary<string, DestinationConfig> { ["main"] = new() { Address = backend.BaseAddress.ToString() } } }])
                        .ForwardThroughSecureCommsClients();
                });
            return new Deployment(dir, provider, backend, gateway, new Uri($"https://127.0.0.1:{edgePort}"), TestClients.RawClient((System.Security.Cryptography.X509Certificates.X509Certificate2?)null));
        }

        public async ValueTask DisposeAsync()
        {
            Outside.Dispose();
            await GatewayHost.DisposeAsync();
            await Backend.DisposeAsync();
            await Provider.DisposeAsync();
            _dir.Dispose();
        }
    }
}
