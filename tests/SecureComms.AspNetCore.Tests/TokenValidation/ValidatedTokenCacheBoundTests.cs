using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.TokenValidation;

/// <summary>
/// The validated-token cache under a flood of distinct valid tokens through real Kestrel: never more entries than
/// <c>ValidatedTokenCacheSize</c>, the token a caller keeps presenting still served from it, and the header objects
/// remembered per connection gone once the connections are.
/// </summary>
[TestClass]
public sealed class ValidatedTokenCacheBoundTests
{
    private const string Audience = "https://billing.example.org";
    private const int Capacity = 8;

    [TestMethod]
    public async Task ThreeTimesItsCapacityInDistinctTokens_NeverGrowsTheCache_AndTheHotTokenStaysCached()
    {
        await using TestIssuer issuer = await TestIssuer.StartAsync();
        await using SecureServiceHost billing = await StartAsync(issuer);
        ValidatedTokenCache cache = billing.App.Services.GetRequiredService<ValidatedTokenCache>();
        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        string hot = issuer.Mint(Audience, orders);
        var statuses = new List<HttpStatusCode>();

        for (int i = 0; i < 3 * Capacity; i++)
        {
            // A new connection for each token, so each is validated and looked up by its digest, as a flood would be.
            using HttpClient flood = TestClients.RawClient(orders.Certificate);
            statuses.Add(await SendAsync(flood, billing, issuer.Mint(Audience, orders)));
            using HttpClient caller = TestClients.RawClient(orders.Certificate);
            statuses.Add(await SendAsync(caller, billing, hot));
            Assert.IsLessThanOrEqualTo(Capacity, cache.Count, $"after {i + 1} distinct tokens");
        }

        Assert.IsTrue(statuses.All(s => s == HttpStatusCode.OK), string.Join(", ", statuses));
        Assert.IsTrue(cache.TryGet(Sha256Key.Of(hot), DateTimeOffset.UtcNow, out _), "the token presented between every flooding one is still cached");
    }

    [TestMethod]
    public async Task HeaderObjectsRememberedPerConnection_AreGone_OnceTheConnectionsAre()
    {
        await using TestIssuer issuer = await TestIssuer.StartAsync();
        await using SecureServiceHost billing = await StartAsync(issuer);
        ValidatedTokenCache cache = billing.App.Services.GetRequiredService<ValidatedTokenCache>();
        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        for (int i = 0; i < 3 * Capacity; i++)
        {
            using HttpClient connection = TestClients.RawClient(orders.Certificate);
            string token = issuer.Mint(Audience, orders);
            Assert.AreEqual(HttpStatusCode.OK, await SendAsync(connection, billing, token));
            Assert.AreEqual(HttpStatusCode.OK, await SendAsync(connection, billing, token), "the second request on the connection: found by its header object");
        }

        Assert.IsGreaterThan(0, cache.RememberedHeaderCount, "header objects were remembered (else this test proves nothing)");

        // The table holds its keys weakly: once Kestrel has let go of the connections' strings, a full GC frees them.
        // Closing a connection is asynchronous on the server side, so this waits for it (never on time itself).
        int remembered = cache.RememberedHeaderCount;
        for (int attempt = 0; attempt < 100 && remembered > 0; attempt++)
        {
            await Task.Delay(100);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            remembered = cache.RememberedHeaderCount;
        }

        Assert.AreEqual(0, remembered, "every header object went with its connection");
    }

    private static Task<SecureServiceHost> StartAsync(TestIssuer issuer) =>
        SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext context) => context.GetCallerSpiffeId().ToString()).RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = issuer.Issuer,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Audience,
                ["SecureComms:TokenValidation:ValidatedTokenCacheSize"] = Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });

    private static async Task<HttpStatusCode> SendAsync(HttpClient client, SecureServiceHost host, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.BaseAddress, "/invoices"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using HttpResponseMessage response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
