using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.TokenValidation;

/// <summary>
/// The receiver's token settings on real Kestrel: with certificate binding optional an unbound token counts but a
/// bound one must still name this connection's certificate; the <c>Bearer</c> scheme is read in any case with the
/// spaces JwtBearer allows; a disabled cache remembers nothing yet validates every request.
/// </summary>
[TestClass]
public sealed class BoundTokenOptionsTests
{
    private const string Audience = "https://billing.example.org";
    private static TestIssuer s_issuer = null!;
    private static WorkloadCertificate s_orders = null!;
    private static WorkloadCertificate s_analytics = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_orders = TestPki.Issue(TestPki.Orders);
        s_analytics = TestPki.Issue(TestPki.Analytics);
        s_issuer = await TestIssuer.StartAsync();
    }

    [ClassCleanup]
    public static async Task StopAsync() => await s_issuer.DisposeAsync();

    private static Task<SecureServiceHost> StartBillingAsync(bool requireBinding = true, int cacheSize = 10_000, bool requireAccessTokenType = true) =>
        SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => $"{ctx.GetCallerSpiffeId()} with {ctx.User.FindFirst("scope")?.Value}")
                .RequireCaller("spiffe://example.org/orders", "spiffe://example.org/analytics"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = s_issuer.Issuer,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Audience,
                ["SecureComms:TokenValidation:RequireCertificateBinding"] = requireBinding ? "true" : "false",
                ["SecureComms:TokenValidation:ValidatedTokenCacheSize"] = cacheSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["SecureComms:TokenValidation:RequireAccessTokenType"] = requireAccessTokenType ? "true" : "false",
            });

    private static async Task<HttpResponseMessage> CallAsync(SecureServiceHost billing, WorkloadCertificate caller, string? authorization)
    {
        using HttpClient client = TestClients.RawClient(caller.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, "/invoices"));
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        HttpResponseMessage response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    [TestMethod]
    public async Task BindingOptional_UnboundTokenIsAccepted_ButABoundOneMustStillNameThisConnectionsCertificate()
    {
        await using SecureServiceHost billing = await StartBillingAsync(requireBinding: false);
        string unbound = s_issuer.Mint(Audience, boundTo: null);
        string ordersToken = s_issuer.Mint(Audience, s_orders);

        HttpResponseMessage accepted = await CallAsync(billing, s_orders, "Bearer " + unbound);
        HttpResponseMessage acceptedAgain = await CallAsync(billing, s_orders, "Bearer " + unbound);
        HttpResponseMessage replayed = await CallAsync(billing, s_analytics, "Bearer " + ordersToken);
        HttpResponseMessage owner = await CallAsync(billing, s_orders, "Bearer " + ordersToken);
        HttpResponseMessage replayedFromTheCache = await CallAsync(billing, s_analytics, "Bearer " + ordersToken);

        Assert.AreEqual(HttpStatusCode.OK, accepted.StatusCode, await accepted.Content.ReadAsStringAsync());
        Assert.AreEqual("spiffe://example.org/orders with invoices.read", await accepted.Content.ReadAsStringAsync(), "the token's claims reach the handler");
        Assert.AreEqual(HttpStatusCode.OK, acceptedAgain.StatusCode, "served from the cache");
        Assert.AreEqual(HttpStatusCode.Unauthorized, replayed.StatusCode, "a token bound to orders, presented by analytics");
        Assert.AreEqual(HttpStatusCode.OK, owner.StatusCode);
        Assert.AreEqual(HttpStatusCode.Unauthorized, replayedFromTheCache.StatusCode, "the binding is checked on every request, cached or not");
        Assert.IsTrue(billing.Logs.Contains(1400, "denied spiffe://example.org/analytics (user (none)) GET /invoices: TokenBoundToAnotherCertificate"));
    }

    [TestMethod]
    public async Task BindingRequired_UnboundToken_Gets401_NotCertificateBound()
    {
        await using SecureServiceHost billing = await StartBillingAsync(requireBinding: true);

        HttpResponseMessage refused = await CallAsync(billing, s_orders, "Bearer " + s_issuer.Mint(Audience, boundTo: null));

        Assert.AreEqual(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains($"error_description=\"{AccessTokenFailure.Describe(AccessTokenFailure.NotCertificateBound)}\"", refused.Headers.WwwAuthenticate.ToString());
    }

    [TestMethod]
    [DataRow("bearer {0}", DisplayName = "scheme in lower case")]
    [DataRow("BEARER {0}", DisplayName = "scheme in upper case")]
    [DataRow("Bearer   {0}  ", DisplayName = "spaces around the token")]
    public async Task BearerScheme_IsReadInAnyCase_AndTheTokenIsRememberedByItsDigest(string format)
    {
        await using SecureServiceHost billing = await StartBillingAsync();
        ValidatedTokenCache cache = billing.App.Services.GetRequiredService<ValidatedTokenCache>();
        string token = s_issuer.Mint(Audience, s_orders);

        HttpResponseMessage response = await CallAsync(billing, s_orders, string.Format(System.Globalization.CultureInfo.InvariantCulture, format, token));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        Assert.IsTrue(cache.TryGet(Sha256Key.Of(token), DateTimeOffset.UtcNow, out _), "the token itself, without scheme or spaces, is the cache key");
    }

    [TestMethod]
    public async Task DisabledCache_ValidatesEveryRequest_AndRemembersNothing()
    {
        await using SecureServiceHost billing = await StartBillingAsync(cacheSize: 0);
        ValidatedTokenCache cache = billing.App.Services.GetRequiredService<ValidatedTokenCache>();
        string token = s_issuer.Mint(Audience, s_orders);

        HttpResponseMessage first = await CallAsync(billing, s_orders, "Bearer " + token);
        HttpResponseMessage second = await CallAsync(billing, s_orders, "Bearer " + token);
        HttpResponseMessage replayed = await CallAsync(billing, s_analytics, "Bearer " + token);

        Assert.AreEqual(HttpStatusCode.OK, first.StatusCode);
        Assert.AreEqual(HttpStatusCode.OK, second.StatusCode);
        Assert.AreEqual(HttpStatusCode.Unauthorized, replayed.StatusCode);
        Assert.AreEqual(0, cache.Count);
        Assert.AreEqual(0, cache.RememberedHeaderObjects("Bearer " + token));
    }

    [TestMethod]
    [DataRow(true, "at+jwt", HttpStatusCode.OK, DisplayName = "typ required: at+jwt")]
    [DataRow(true, "application/at+jwt", HttpStatusCode.OK, DisplayName = "typ required: its media type, application/at+jwt (RFC 9068 §2.1)")]
    [DataRow(true, "JWT", HttpStatusCode.Unauthorized, DisplayName = "typ required: JWT refused")]
    [DataRow(false, "JWT", HttpStatusCode.OK, DisplayName = "typ not required: JWT accepted")]
    [DataRow(false, "at+jwt", HttpStatusCode.OK, DisplayName = "typ not required: at+jwt accepted")]
    public async Task AccessTokenType_IsRequiredByDefault_InEitherSpelling(bool required, string type, HttpStatusCode expected)
    {
        await using SecureServiceHost billing = await StartBillingAsync(requireAccessTokenType: required);

        HttpResponseMessage response = await CallAsync(billing, s_orders, "Bearer " + s_issuer.Mint(Audience, s_orders, type: type));

        Assert.AreEqual(expected, response.StatusCode, response.Headers.WwwAuthenticate.ToString());
    }
}
