using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.WorkloadApi;

/// <summary>
/// A service that accepts JWT-SVIDs, validated against the JWT bundles its Workload API streams, over real Kestrel and
/// real mutual TLS. Each workload gets its JWT-SVIDs from its own development Workload API server; all of one trust
/// domain share the signing keys, as SPIRE agents of one server do. Every attack is refused with 401, an RFC 6750
/// challenge and its own logged reason, and the handler never runs.
/// </summary>
[TestClass]
public sealed class JwtSvidAttackTests
{
    private const string Audience = "spiffe://example.org/billing";
    private static DevelopmentJwtSigningKeys s_keys = null!;
    private static DevelopmentWorkloadApiServer s_billingAgent = null!;
    private static DevelopmentWorkloadApiServer s_ordersAgent = null!;
    private static DevelopmentWorkloadApiServer s_analyticsAgent = null!;
    private static DevelopmentWorkloadApiServer s_staleOrdersAgent = null!;
    private static SecureServiceHost s_billing = null!;
    private static WorkloadCertificate s_orders = null!;
    private static WorkloadCertificate s_analytics = null!;
    private static int s_handlerRuns;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_orders = TestPki.Issue(TestPki.Orders);
        s_analytics = TestPki.Issue(TestPki.Analytics);
        s_keys = new DevelopmentJwtSigningKeys();
        s_billingAgent = await StartAgentAsync(TestPki.Billing);
        s_ordersAgent = await StartAgentAsync(TestPki.Orders);
        s_analyticsAgent = await StartAgentAsync(TestPki.Analytics);

        // An agent whose clock is an hour behind: the JWT-SVIDs it issues expired long ago.
        s_staleOrdersAgent = await StartAgentAsync(TestPki.Orders, new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-1)));
        s_billing = await SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/invoices", (HttpContext ctx) =>
                {
                    Interlocked.Increment(ref s_handlerRuns);
                    return $"{ctx.GetCallerSpiffeId()} with a JWT-SVID for {ctx.User.FindFirst("sub")?.Value}, aud {ctx.User.FindFirst("aud")?.Value}";
                }).RequireCaller("spiffe://example.org/orders", "spiffe://example.org/analytics");
                app.MapGet("/scoped", () => Interlocked.Increment(ref s_handlerRuns)).RequireCaller("spiffe://example.org/orders").RequireScope("invoices.read");
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:WorkloadApi:Socket"] = s_billingAgent.Socket,
                ["SecureComms:TokenValidation:AcceptJwtSvids"] = "true",
                ["SecureComms:TokenValidation:JwtSvidAudience"] = Audience,
            });
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        await s_billing.DisposeAsync();
        foreach (DevelopmentWorkloadApiServer agent in new[] { s_billingAgent, s_ordersAgent, s_analyticsAgent, s_staleOrdersAgent })
        {
            await agent.DisposeAsync();
        }

        s_keys.Dispose();
    }

    [TestMethod]
    public async Task JwtSvidOfTheCaller_OverItsOwnConnection_Gets200_AndTheHandlerSeesItsClaims()
    {
        string token = await JwtSvidAsync(s_ordersAgent, Audience);

        HttpResponseMessage response = await CallAsync(s_orders, "/invoices", token);

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        Assert.AreEqual($"spiffe://example.org/orders with a JWT-SVID for spiffe://example.org/orders, aud {Audience}", await response.Content.ReadAsStringAsync());
        Assert.IsTrue(s_billing.Logs.Contains(1213, $"validated a JWT-SVID of spiffe://example.org/orders with key {new JsonWebToken(token).Kid} of trust domain example.org"));
    }

    [TestMethod]
    public async Task JwtSvidReplayedFromAnotherWorkload_Gets401_JwtSvidSubjectIsNotCaller()
    {
        // analytics got hold of orders' JWT-SVID (valid signature, right audience, not expired) and presents it on
        // its own mTLS connection: a bearer token, so only the sub = caller rule stops it.
        string stolen = await JwtSvidAsync(s_ordersAgent, Audience);
        int handlerRunsBefore = Volatile.Read(ref s_handlerRuns);

        HttpResponseMessage response = await CallAsync(s_analytics, "/invoices", stolen);

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        string challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Contains("error=\"invalid_token\"", challenge);
        Assert.Contains($"error_description=\"{AccessTokenFailure.Describe(AccessTokenFailure.JwtSvidSubjectIsNotCaller)}\"", challenge);
        Assert.AreEqual(handlerRunsBefore, Volatile.Read(ref s_handlerRuns), "the handler never ran");
        Assert.IsTrue(s_billing.Logs.Contains(1400, "denied spiffe://example.org/analytics (user (none)) GET /invoices: JwtSvidSubjectIsNotCaller"));
    }

    [TestMethod]
    public async Task JwtSvidAlreadyValidatedForItsOwner_ReplayedByAnotherCaller_IsStillRejected()
    {
        string token = await JwtSvidAsync(s_ordersAgent, Audience);

        HttpResponseMessage owner = await CallAsync(s_orders, "/invoices", token);
        HttpResponseMessage replay = await CallAsync(s_analytics, "/invoices", token);

        Assert.AreEqual(HttpStatusCode.OK, owner.StatusCode);
        Assert.AreEqual(HttpStatusCode.Unauthorized, replay.StatusCode, "the sub = caller rule is checked on every request, cached or not");
    }

    [TestMethod]
    public async Task JwtSvid_HasNoScope_SoAScopeRuleForbidsIt()
    {
        HttpResponseMessage response = await CallAsync(s_orders, "/scoped", await JwtSvidAsync(s_ordersAgent, Audience));

        Assert.AreEqual(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("error=\"insufficient_scope\"", response.Headers.WwwAuthenticate.ToString());
    }

    /// <summary>The token each attack presents (MSTest <c>DataRow</c>s name the attacks, so that mutation testing maps every row).</summary>
    private static async Task<string?> TokenForAsync(string attack) => attack switch
    {
        "no token" => null,
        "garbage" => "not-a-jwt",
        "wrong audience" => await JwtSvidAsync(s_ordersAgent, "spiffe://example.org/other"),
        "expired" => await JwtSvidAsync(s_staleOrdersAgent, Audience),
        "alg none" => Unsigned(await JwtSvidAsync(s_ordersAgent, Audience), "none"),
        "HS256 with the bundle's kid" => Mint(TestPki.Orders, new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = s_keys.CurrentKeyId }, SecurityAlgorithms.HmacSha256)),
        "unknown kid" => Mint(TestPki.Orders, Foreign("no-such-key")),
        "the bundle's kid, another key" => Mint(TestPki.Orders, Foreign(s_keys.CurrentKeyId)),
        "sub in a trust domain without a JWT bundle" => Mint(SpiffeId.Parse("spiffe://other.org/orders"), Foreign(s_keys.CurrentKeyId)),
        "sub not a SPIFFE ID" => Mint("orders", Foreign(s_keys.CurrentKeyId)),
        _ => throw new ArgumentOutOfRangeException(nameof(attack), attack, "no such attack"),
    };

    /// <summary>The <c>Authorization</c> header each attack sends: its bearer token, or another scheme's credentials.</summary>
    private static async Task<string?> AuthorizationForAsync(string attack) => attack == "Basic credentials, no bearer token"
        ? "Basic b3JkZXJzOnNlY3JldA=="
        : await TokenForAsync(attack) is { } token ? "Bearer " + token : null;

    [TestMethod]
    [DataRow("no token", AccessTokenFailure.Missing)]
    [DataRow("Basic credentials, no bearer token", AccessTokenFailure.Missing)]
    [DataRow("garbage", AccessTokenFailure.Malformed)]
    [DataRow("wrong audience", AccessTokenFailure.WrongAudience)]
    [DataRow("expired", AccessTokenFailure.Expired)]
    [DataRow("alg none", AccessTokenFailure.AlgorithmNotAllowed)]
    [DataRow("HS256 with the bundle's kid", AccessTokenFailure.AlgorithmNotAllowed)]
    [DataRow("unknown kid", AccessTokenFailure.UnknownSigningKey)]
    [DataRow("the bundle's kid, another key", AccessTokenFailure.BadSignature)]
    [DataRow("sub in a trust domain without a JWT bundle", AccessTokenFailure.UnknownSigningKey)]
    [DataRow("sub not a SPIFFE ID", AccessTokenFailure.Malformed)]
    public async Task BadJwtSvid_Gets401_WithAnRfc6750Challenge_AndALoggedReason(string attack, string reason)
    {
        int handlerRunsBefore = Volatile.Read(ref s_handlerRuns);

        HttpResponseMessage response = await SendAsync(s_orders, "/invoices", await AuthorizationForAsync(attack));

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode, attack);
        string challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.StartsWith("Bearer realm=\"SecureComms\"", challenge, attack);
        if (reason != AccessTokenFailure.Missing)
        {
            Assert.Contains($"error=\"invalid_token\", error_description=\"{AccessTokenFailure.Describe(reason)}\"", challenge, attack);
        }

        Assert.AreEqual(handlerRunsBefore, Volatile.Read(ref s_handlerRuns), $"{attack}: the handler never ran");
        Assert.IsTrue(
            s_billing.Logs.Contains(1400, $"denied spiffe://example.org/orders (user (none)) GET /invoices: {reason}"),
            $"{attack}: one audit event naming the caller and the reason {reason}");
    }

    [TestMethod]
    public async Task SigningKeyRotated_TheNewKeyIsAcceptedOnceTheBundleIsPushed()
    {
        WorkloadApiJwtBundleSource bundles = s_billing.App.Services.GetRequiredService<WorkloadApiJwtBundleSource>();
        await CallAsync(s_orders, "/invoices", await JwtSvidAsync(s_ordersAgent, Audience)); // bundles loaded
        string old = await JwtSvidAsync(s_ordersAgent, Audience);

        string kid = await s_keys.RotateAsync(TestContext.CancellationToken);
        await Eventually.WaitUntilAsync(() => bundles.GetKeys(TestPki.TrustDomain).Any(k => k.KeyId == kid), "the pushed bundle holds the new key");
        string renewed = await JwtSvidAsync(s_ordersAgent, Audience);

        Assert.AreEqual(kid, new JsonWebToken(renewed).Kid, "the agent signs with the new key");
        Assert.AreEqual(HttpStatusCode.OK, (await CallAsync(s_orders, "/invoices", renewed)).StatusCode);
        Assert.AreEqual(HttpStatusCode.OK, (await CallAsync(s_orders, "/invoices", old)).StatusCode, "the previous key stays in the bundle");
    }

    [TestMethod]
    public async Task SecureCommsClient_WithTokenSourceJwtSvid_CallsTheService_WithOneJwtSvidForManyRequests()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:WorkloadApi:Socket"] = s_ordersAgent.Socket,
            ["SecureComms:Clients:billing:BaseAddress"] = s_billing.BaseAddress.ToString(),
            ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
            ["SecureComms:Clients:billing:Token:Source"] = "JwtSvid",
            ["SecureComms:Clients:billing:Token:Audience"] = Audience,
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSecureCommsCore(configuration)
            .UseCertificateSource(new InMemoryCertificateSource(s_orders))
            .UseTrustBundleSource(TestPki.Bundles());
        await using ServiceProvider provider = services.BuildServiceProvider();
        HttpClient client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("billing");
        int issuedBefore = s_ordersAgent.JwtSvidRequestCount;

        var bodies = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            HttpResponseMessage response = await client.GetAsync(new Uri("/invoices", UriKind.Relative), TestContext.CancellationToken);
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.CancellationToken));
            bodies.Add(await response.Content.ReadAsStringAsync(TestContext.CancellationToken));
        }

        Assert.AreEqual($"spiffe://example.org/orders with a JWT-SVID for spiffe://example.org/orders, aud {Audience}", bodies[2]);
        Assert.AreEqual(issuedBefore + 1, s_ordersAgent.JwtSvidRequestCount, "one JWT-SVID, cached for the next requests");
    }

    private static Task<DevelopmentWorkloadApiServer> StartAgentAsync(SpiffeId id, TimeProvider? clock = null) =>
        DevelopmentWorkloadApiServer.StartAsync(new DevelopmentWorkloadApiServerOptions { Authority = TestPki.Ca, SpiffeId = id, JwtSigningKeys = s_keys, TimeProvider = clock });

    private static async Task<string> JwtSvidAsync(DevelopmentWorkloadApiServer agent, string audience)
    {
        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(agent.Socket));
        return (await connection.FetchJwtSvidAsync([audience], null, CancellationToken.None)).Svids[0].Svid;
    }

    private static Task<HttpResponseMessage> CallAsync(WorkloadCertificate caller, string path, string? token) =>
        SendAsync(caller, path, token is null ? null : "Bearer " + token);

    private static async Task<HttpResponseMessage> SendAsync(WorkloadCertificate caller, string path, string? authorization)
    {
        using HttpClient client = TestClients.RawClient(caller.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s_billing.BaseAddress, path));
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return await client.SendAsync(request);
    }

    /// <summary>A JWT-SVID-shaped token signed with <paramref name="signing"/> (sub, aud, iat, exp).</summary>
    private static string Mint(object subject, SigningCredentials signing)
    {
        DateTime now = DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = subject.ToString()!, ["aud"] = Audience },
            IssuedAt = now,
            Expires = now.AddMinutes(5),
            SigningCredentials = signing,
            TokenType = "JWT",
        });
    }

    private static SigningCredentials Foreign(string kid) => new(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = kid }, SecurityAlgorithms.EcdsaSha256);

    /// <summary>The token's payload under a header claiming <paramref name="algorithm"/>, with no signature.</summary>
    private static string Unsigned(string jwt, string algorithm)
    {
        string header = $$"""{"alg":"{{algorithm}}","typ":"JWT","kid":"{{new JsonWebToken(jwt).Kid}}"}""";
        return $"{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header))}.{jwt.Split('.')[1]}.";
    }
}
