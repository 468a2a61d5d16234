using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.UserContext;

/// <summary>
/// End-user identity across hops, on real Kestrel services with real mutual TLS: a frontend calls the gateway, which
/// authenticated the user (a stand-in edge scheme) and mints a user context; orders forwards it; billing sees the user
/// and the chain of workloads and decides on both identities. Every forged, replayed or misaddressed context is refused
/// with 401, an RFC 6750 challenge and an audit event naming the reason, before any handler runs.
/// </summary>
[TestClass]
public sealed class EndUserContextTests
{
    private const string BillingAudience = "https://billing.example.org";
    private static readonly SpiffeId Gateway = SpiffeId.Parse("spiffe://example.org/gateway");
    private static readonly SpiffeId Frontend = SpiffeId.Parse("spiffe://example.org/frontend");
    private static TestIssuer s_issuer = null!;
    private static SecureServiceHost s_billing = null!;
    private static SecureServiceHost s_orders = null!;
    private static SecureServiceHost s_gateway = null!;
    private static SecureServiceHost s_plain = null!;
    private static WorkloadCertificate s_gatewaySvid = null!;
    private static WorkloadCertificate s_ordersSvid = null!;
    private static WorkloadCertificate s_analyticsSvid = null!;
    private static WorkloadCertificate s_frontendSvid = null!;
    private static int s_billingHandlerRuns;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_gatewaySvid = TestPki.Issue(Gateway);
        s_ordersSvid = TestPki.Issue(TestPki.Orders);
        s_analyticsSvid = TestPki.Issue(TestPki.Analytics);
        s_frontendSvid = TestPki.Issue(Frontend);
        s_issuer = await TestIssuer.StartAsync();

        // billing: orders may read invoices only for a buyer; orders' own calls (no user) may read /status.
        s_billing = await SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/invoices", (HttpContext ctx) =>
                {
                    Interlocked.Increment(ref s_billingHandlerRuns);
                    EndUserIdentity? user = ctx.User.GetEndUser();
                    return $"caller={ctx.GetCallerSpiffeId()} user={user?.Subject} roles={string.Join(',', user?.FindAll("role").Select(c => c.Value) ?? [])} actors={string.Join(',', user?.Actors ?? [])} act={user?.FindFirst("act")?.Value}";
                });
                app.MapGet("/status", () => Interlocked.Increment(ref s_billingHandlerRuns));
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:UserContext:TrustedGateways:0"] = Gateway.ToString(),
                ["SecureComms:UserContext:TrustedForwarders:0"] = TestPki.Orders.ToString(),
                ["SecureComms:Authorization:Rules:0:Name"] = "orders-for-buyers",
                ["SecureComms:Authorization:Rules:0:Callers:0"] = TestPki.Orders.ToString(),
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/invoices",
                ["SecureComms:Authorization:Rules:0:UserClaims:role"] = "buyer",
                ["SecureComms:Authorization:Rules:1:Name"] = "status",
                ["SecureComms:Authorization:Rules:1:Callers:0"] = "spiffe://example.org/*",
                ["SecureComms:Authorization:Rules:1:Paths:0"] = "/status",
            });

        // orders: accepts contexts from the gateway and forwards them to billing.
        s_orders = await SecureServiceHost.StartAsync(
            app => app.MapGet("/checkout", async (HttpContext ctx, IHttpClientFactory clients) =>
            {
                using HttpResponseMessage response = await clients.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative));
                return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }),
            new InMemoryCertificateSource(s_ordersSvid),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:UserContext:TrustedGateways:0"] = Gateway.ToString(),
                ["SecureComms:Authorization:Rules:0:Callers:0"] = Gateway.ToString(),
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/checkout",
                ["SecureComms:Clients:billing:BaseAddress"] = s_billing.BaseAddress.ToString(),
                ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
                ["SecureComms:Clients:billing:UserContext:Mode"] = "Forward",
            });

        // gateway: the edge. A stand-in for any ASP.NET Core user scheme puts the user on HttpContext.User.
        s_gateway = await SecureServiceHost.StartAsync(
            app =>
            {
                app.Use((ctx, next) =>
                {
                    if (ctx.Request.Headers["X-Test-User"].ToString() is { Length: > 0 } user)
                    {
                        string[] parts = user.Split(';');
                        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, parts[0]), new(ClaimTypes.Name, parts[0] + " Example") };
                        claims.AddRange(parts.Skip(1).Select(role => new Claim(ClaimTypes.Role, role)));
                        ctx.User.AddIdentity(new ClaimsIdentity(claims, "EdgeCookie"));
                    }

                    return next(ctx);
                });
                app.MapGet("/buy", async (HttpContext ctx, IHttpClientFactory clients) =>
                {
                    using HttpResponseMessage response = await clients.CreateClient("orders").GetAsync(new Uri("/checkout", UriKind.Relative));
                    return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                });
            },
            new InMemoryCertificateSource(s_gatewaySvid),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Authorization:Rules:0:Callers:0"] = Frontend.ToString(),
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/buy",
                ["SecureComms:Clients:orders:BaseAddress"] = s_orders.BaseAddress.ToString(),
                ["SecureComms:Clients:orders:ExpectedServer"] = TestPki.Orders.ToString(),
                ["SecureComms:Clients:orders:UserContext:Mode"] = "Mint",
                ["SecureComms:Clients:orders:UserContext:Claims:0"] = "role",
                ["SecureComms:Clients:orders:UserContext:Claims:1"] = "name",
            });

        // A service that accepts no user context at all, and requires bound access tokens.
        s_plain = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", () => "ok").RequireCaller(Gateway.ToString(), TestPki.Orders.ToString()),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = s_issuer.Issuer,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = BillingAudience,
            });
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        await s_gateway.DisposeAsync();
        await s_orders.DisposeAsync();
        await s_billing.DisposeAsync();
        await s_plain.DisposeAsync();
        await s_issuer.DisposeAsync();
    }

    [TestMethod]
    public async Task ThreeHops_GatewayOrdersBilling_BillingSeesTheUserAndTheChain()
    {
        using HttpClient frontend = TestClients.RawClient(s_frontendSvid.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s_gateway.BaseAddress, "/buy"));
        request.Headers.Add("X-Test-User", "alice;buyer;auditor");

        using HttpResponseMessage response = await frontend.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
        Assert.AreEqual(
            "200 200 caller=spiffe://example.org/orders user=alice roles=buyer,auditor actors=spiffe://example.org/gateway,spiffe://example.org/orders "
            + "act={\"sub\":\"spiffe://example.org/orders\",\"act\":{\"sub\":\"spiffe://example.org/gateway\"}}",
            body);
    }

    [TestMethod]
    public async Task PolicyNeedsBothIdentities_RightCallerWrongRole_AndNoUser_AndRightUserWrongCaller_AreDenied()
    {
        using HttpClient frontend = TestClients.RawClient(s_frontendSvid.Certificate);
        using var viewer = new HttpRequestMessage(HttpMethod.Get, new Uri(s_gateway.BaseAddress, "/buy"));
        viewer.Headers.Add("X-Test-User", "bob;viewer");
        using HttpResponseMessage viewerResponse = await frontend.SendAsync(viewer);
        Assert.AreEqual("200 403 ", (await viewerResponse.Content.ReadAsStringAsync())[..8], "orders + a user without role buyer");

        using var anonymous = new HttpRequestMessage(HttpMethod.Get, new Uri(s_gateway.BaseAddress, "/buy"));
        using HttpResponseMessage anonymousResponse = await frontend.SendAsync(anonymous);
        Assert.AreEqual("200 403 ", (await anonymousResponse.Content.ReadAsStringAsync())[..8], "orders without any user");

        // The gateway itself, with a valid context for a buyer: the user is right, the caller is not.
        using HttpResponseMessage direct = await SendAsync(s_gatewaySvid, s_billing, "/invoices", Mint(s_gatewaySvid, TestPki.Billing, "alice", roles: ["buyer"]));
        Assert.AreEqual(HttpStatusCode.Forbidden, direct.StatusCode);
        Assert.IsTrue(s_billing.Logs.Contains(1400, "NoMatchingRule"), "the denial is audited");

        // Both right: orders, for a buyer minted by the gateway and wrapped by orders.
        string wrapped = Mint(s_ordersSvid, TestPki.Billing, "alice", wraps: Mint(s_gatewaySvid, TestPki.Orders, "alice", roles: ["buyer"]));
        using HttpResponseMessage allowed = await SendAsync(s_ordersSvid, s_billing, "/invoices", wrapped);
        Assert.AreEqual(HttpStatusCode.OK, allowed.StatusCode, await allowed.Content.ReadAsStringAsync());
    }

    public static IEnumerable<object[]> Refusals()
    {
        // name, caller, context, expected reason
        yield return ["signed by a workload that is not an allowed gateway", "analytics", (Func<string>)(() => Mint(s_analyticsSvid, TestPki.Billing, "alice", roles: ["buyer"])), "UserContextUntrustedSigner"];
        yield return ["forwarded by a workload that should not forward users", "analytics", (Func<string>)(() => Mint(s_analyticsSvid, TestPki.Billing, "alice", wraps: Mint(s_gatewaySvid, TestPki.Analytics, "alice", roles: ["buyer"]))), "UserContextUntrustedSigner"];
        yield return ["a context orders sent, replayed by analytics", "analytics", (Func<string>)(() => Mint(s_ordersSvid, TestPki.Billing, "alice", wraps: Mint(s_gatewaySvid, TestPki.Orders, "alice", roles: ["buyer"]))), "UserContextSignerIsNotCaller"];
        yield return ["expired", "gateway", (Func<string>)(() => Mint(s_gatewaySvid, TestPki.Billing, "alice", issuedAt: DateTimeOffset.UtcNow.AddMinutes(-10), lifetime: TimeSpan.FromMinutes(2))), "UserContextExpired"];
        yield return ["addressed to another service", "gateway", (Func<string>)(() => Mint(s_gatewaySvid, TestPki.Analytics, "alice")), "UserContextWrongAudience"];
        yield return ["wrapped context addressed to someone else than the forwarder", "orders", (Func<string>)(() => Mint(s_ordersSvid, TestPki.Billing, "alice", wraps: Mint(s_gatewaySvid, TestPki.Analytics, "alice"))), "UserContextWrongAudience"];
        yield return ["tampered claims (role changed after signing)", "gateway", (Func<string>)(() => Tamper(Mint(s_gatewaySvid, TestPki.Billing, "alice", roles: ["viewer"]))), "UserContextBadSignature"];
        yield return ["forwarder names another user than the gateway did", "orders", (Func<string>)(() => Mint(s_ordersSvid, TestPki.Billing, "mallory", wraps: Mint(s_gatewaySvid, TestPki.Orders, "alice"))), "UserContextSubjectMismatch"];
        yield return ["lifetime longer than allowed", "gateway", (Func<string>)(() => Mint(s_gatewaySvid, TestPki.Billing, "alice", lifetime: TimeSpan.FromHours(2))), "UserContextLifetimeTooLong"];
        yield return ["signed with a certificate from an untrusted CA", "gateway", (Func<string>)(() => Mint(TestPki.RogueCa.IssueSvid(Gateway), TestPki.Billing, "alice")), "UserContextUntrustedCertificate"];
        yield return ["a plain header naming a user", "gateway", (Func<string>)(() => "alice"), "UserContextMalformed"];
        yield return ["another token type (an access token)", "gateway", (Func<string>)(() => Mint(s_gatewaySvid, TestPki.Billing, "alice", type: "at+jwt")), "UserContextMalformed"];
    }

    [TestMethod]
    [DynamicData(nameof(Refusals))]
    public async Task RefusedUserContext_Gets401_WithChallenge_AndAuditedReason_AndNoHandlerRuns(string name, string caller, Func<string> context, string reason)
    {
        WorkloadCertificate svid = caller switch { "analytics" => s_analyticsSvid, "orders" => s_ordersSvid, _ => s_gatewaySvid };
        int runsBefore = Volatile.Read(ref s_billingHandlerRuns);
        int auditsBefore = Audits(s_billing, reason);

        using HttpResponseMessage response = await SendAsync(svid, s_billing, "/status", context());

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode, name);
        string challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Contains("error=\"invalid_token\"", challenge, name);
        Assert.Contains("The user context was refused", challenge, name);
        Assert.Contains(SecureCommsUserContext.RefusedChallengeParameter, challenge, name); // so the caller's client does not renew its token
        Assert.AreEqual(auditsBefore + 1, Audits(s_billing, reason), $"{name}: exactly one audit event 1400 with {reason}");
        Assert.AreEqual(runsBefore, Volatile.Read(ref s_billingHandlerRuns), $"{name}: no handler ran");
    }

    [TestMethod]
    public async Task ServiceThatAcceptsNoUserContext_RefusesOne_EvenWithAValidBoundToken()
    {
        string token = s_issuer.Mint(BillingAudience, s_gatewaySvid);
        using HttpResponseMessage withoutContext = await SendAsync(s_gatewaySvid, s_plain, "/invoices", null, token);
        Assert.AreEqual(HttpStatusCode.OK, withoutContext.StatusCode, "the token alone is fine");

        using HttpResponseMessage withContext = await SendAsync(s_gatewaySvid, s_plain, "/invoices", Mint(s_gatewaySvid, TestPki.Billing, "alice"), token);
        Assert.AreEqual(HttpStatusCode.Unauthorized, withContext.StatusCode);
        Assert.IsTrue(s_plain.Logs.Contains(1400, "UserContextNotAccepted"));
    }

    [TestMethod]
    public async Task LogsAndChallenges_NeverContainTheUserContext()
    {
        string context = Mint(s_analyticsSvid, TestPki.Billing, "alice", roles: ["buyer"]);
        using HttpResponseMessage response = await SendAsync(s_analyticsSvid, s_billing, "/status", context);

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        string signature = context[(context.LastIndexOf('.') + 1)..];
        Assert.DoesNotContain(e => e.Message.Contains(signature, StringComparison.Ordinal), s_billing.Logs.GetSnapshot(), "no log line carries the context");
        Assert.DoesNotContain(signature, response.Headers.WwwAuthenticate.ToString());
    }

    private static int Audits(SecureServiceHost service, string reason) =>
        service.Logs.GetSnapshot().Count(e => e.Id.Id == 1400 && e.Message.Contains(": " + reason + ",", StringComparison.Ordinal));

    private static async Task<HttpResponseMessage> SendAsync(WorkloadCertificate caller, SecureServiceHost service, string path, string? userContext, string? accessToken = null)
    {
        using HttpClient client = TestClients.RawClient(caller.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(service.BaseAddress, path));
        if (userContext is not null)
        {
            request.Headers.TryAddWithoutValidation(SecureCommsUserContext.HeaderName, userContext);
        }

        if (accessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return await client.SendAsync(request);
    }

    /// <summary>
    /// A user context built by hand with IdentityModel, signed with <paramref name="signer"/>'s SVID key and carrying its
    /// chain: what a (possibly compromised) workload holding that key can produce.
    /// </summary>
    private static string Mint(
        WorkloadCertificate signer,
        SpiffeId audience,
        string subject,
        string[]? roles = null,
        string? wraps = null,
        DateTimeOffset? issuedAt = null,
        TimeSpan? lifetime = null,
        string type = SecureCommsUserContext.TokenType)
    {
        DateTimeOffset iat = issuedAt ?? DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object> { ["sub"] = subject, ["jti"] = Guid.NewGuid().ToString("N"), ["act"] = new Dictionary<string, object> { ["sub"] = signer.SpiffeId.ToString() } };
        if (roles is not null)
        {
            claims["role"] = roles.Length == 1 ? roles[0] : roles;
        }

        if (wraps is not null)
        {
            claims["uctx"] = wraps;
        }

        ECDsa key = signer.Certificate.GetECDsaPrivateKey()!;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = type,
            Issuer = signer.SpiffeId.ToString(),
            Audience = audience.ToString(),
            IssuedAt = iat.UtcDateTime,
            NotBefore = iat.UtcDateTime,
            Expires = (iat + (lifetime ?? TimeSpan.FromMinutes(2))).UtcDateTime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key), SecurityAlgorithms.EcdsaSha256),
            AdditionalHeaderClaims = new Dictionary<string, object>
            {
                ["x5c"] = new[] { Convert.ToBase64String(signer.Certificate.RawData) }.Concat(signer.Intermediates.Select(c => Convert.ToBase64String(c.RawData))).ToArray(),
            },
        });
    }

    /// <summary>Rewrites the payload's role to <c>admin</c>, keeping the original header and signature.</summary>
    private static string Tamper(string token)
    {
        string[] parts = token.Split('.');
        string payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"viewer\"", "\"admin\"", StringComparison.Ordinal);
        return $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
    }
}
