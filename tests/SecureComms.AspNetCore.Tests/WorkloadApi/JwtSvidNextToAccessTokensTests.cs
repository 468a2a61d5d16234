using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.WorkloadApi;

/// <summary>
/// A service that accepts both certificate-bound OAuth access tokens and JWT-SVIDs (real Kestrel, real mTLS): each token
/// is validated as what it is, and each keeps its own replay rule (the <c>cnf</c> binding, or sub = caller).
/// </summary>
[TestClass]
public sealed class JwtSvidNextToAccessTokensTests
{
    private const string OAuthAudience = "https://billing.example.org";
    private const string JwtSvidAudience = "spiffe://example.org/billing";
    private static TestIssuer s_issuer = null!;
    private static DevelopmentJwtSigningKeys s_keys = null!;
    private static DevelopmentWorkloadApiServer s_billingAgent = null!;
    private static DevelopmentWorkloadApiServer s_ordersAgent = null!;
    private static SecureServiceHost s_billing = null!;
    private static WorkloadCertificate s_orders = null!;
    private static WorkloadCertificate s_analytics = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_orders = TestPki.Issue(TestPki.Orders);
        s_analytics = TestPki.Issue(TestPki.Analytics);
        s_issuer = await TestIssuer.StartAsync();
        s_keys = new DevelopmentJwtSigningKeys();
        s_billingAgent = await DevelopmentWorkloadApiServer.StartAsync(new DevelopmentWorkloadApiServerOptions { Authority = TestPki.Ca, SpiffeId = TestPki.Billing, JwtSigningKeys = s_keys });
        s_ordersAgent = await DevelopmentWorkloadApiServer.StartAsync(new DevelopmentWorkloadApiServerOptions { Authority = TestPki.Ca, SpiffeId = TestPki.Orders, JwtSigningKeys = s_keys });
        s_billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => ctx.User.FindFirst("cnf") is null ? "JWT-SVID" : "access token")
                .RequireCaller("spiffe://example.org/orders", "spiffe://example.org/analytics"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = s_issuer.Issuer,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = OAuthAudience,
                ["SecureComms:WorkloadApi:Socket"] = s_billingAgent.Socket,
                ["SecureComms:TokenValidation:AcceptJwtSvids"] = "true",
                ["SecureComms:TokenValidation:JwtSvidAudience"] = JwtSvidAudience,
            });
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        await s_billing.DisposeAsync();
        await s_ordersAgent.DisposeAsync();
        await s_billingAgent.DisposeAsync();
        await s_issuer.DisposeAsync();
        s_keys.Dispose();
    }

    [TestMethod]
    public async Task BoundAccessToken_IsValidatedAsAnAccessToken()
    {
        HttpResponseMessage response = await CallAsync(s_orders, s_issuer.Mint(OAuthAudience, s_orders));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual("access token", await response.Content.ReadAsStringAsync());
    }

    [TestMethod]
    public async Task JwtSvid_IsValidatedAsAJwtSvid()
    {
        HttpResponseMessage response = await CallAsync(s_orders, await JwtSvidAsync());

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual("JWT-SVID", await response.Content.ReadAsStringAsync());
    }

    [TestMethod]
    public async Task AccessTokenReplayedByAnotherWorkload_IsRefusedByItsBinding()
    {
        HttpResponseMessage response = await CallAsync(s_analytics, s_issuer.Mint(OAuthAudience, s_orders));

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.IsTrue(s_billing.Logs.Contains(1400, "denied spiffe://example.org/analytics (user (none)) GET /invoices: TokenBoundToAnotherCertificate"));
    }

    [TestMethod]
    public async Task JwtSvidReplayedByAnotherWorkload_IsRefusedAsNotTheCaller()
    {
        HttpResponseMessage response = await CallAsync(s_analytics, await JwtSvidAsync());

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
        Assert.IsTrue(s_billing.Logs.Contains(1400, "denied spiffe://example.org/analytics (user (none)) GET /invoices: JwtSvidSubjectIsNotCaller"));
    }

    [TestMethod]
    public async Task JwtSvidForTheOAuthAudience_IsRefused()
    {
        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(s_ordersAgent.Socket));
        string forOAuthAudience = (await connection.FetchJwtSvidAsync([OAuthAudience], null, CancellationToken.None)).Svids[0].Svid;

        HttpResponseMessage response = await CallAsync(s_orders, forOAuthAudience);

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.IsTrue(s_billing.Logs.Contains(1400, "GET /invoices: WrongAudience"));
    }

    private static async Task<string> JwtSvidAsync()
    {
        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(s_ordersAgent.Socket));
        return (await connection.FetchJwtSvidAsync([JwtSvidAudience], null, CancellationToken.None)).Svids[0].Svid;
    }

    private static async Task<HttpResponseMessage> CallAsync(WorkloadCertificate caller, string token)
    {
        using HttpClient client = TestClients.RawClient(caller.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s_billing.BaseAddress, "/invoices"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }
}
