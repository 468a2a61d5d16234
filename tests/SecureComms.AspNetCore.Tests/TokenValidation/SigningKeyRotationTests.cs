using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.TokenValidation;

/// <summary>
/// The issuer rotates its signing key while callers keep calling: the receiving side fetches the new key the first
/// time a token signed with it arrives and validates that same token again, so no request with a token of the new key
/// is refused — with or without <c>nbf</c> in the tokens, with the old key kept (then no request at all is refused) or
/// withdrawn. Made-up key ids cannot make it hammer the
/// issuer: at most one JWKS fetch per <c>KeyRefreshMinInterval</c>, however many arrive, however concurrently.
/// </summary>
[TestClass]
public sealed class SigningKeyRotationTests
{
    private const string Resource = "https://billing.example.org";
    private const int CallersCount = 4;
    private const int RequestsWithTheNewKey = 40;

    [TestMethod]
    [DataRow(true, false, DisplayName = "tokens with nbf, old key kept in the JWKS")]
    [DataRow(true, true, DisplayName = "tokens with nbf, old key withdrawn")]
    [DataRow(false, false, DisplayName = "tokens without nbf (as node-oidc-provider issues them), old key kept")]
    [DataRow(false, true, DisplayName = "tokens without nbf, old key withdrawn")]
    public async Task IssuerRotatesItsKeyMidRun_ContinuousCallers_AreNeverRefused(bool withNotBefore, bool withdrawOldKey)
    {
        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        await using DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server")),
            ClientTrust = TestPki.Ca.CreateTrustBundle(),
            IncludeNotBefore = withNotBefore,
            Clients = [new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TestPki.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [Resource] }],
        });
        await using SecureServiceHost billing = await StartBillingAsync(tokenServer.Issuer.ToString());
        string firstKid = tokenServer.PublishedKeyIds[^1];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90)); // a bound, not a measurement
        var refused = new ConcurrentQueue<string>();
        var refusedWithdrawnKey = new ConcurrentQueue<string>(); // tokens the withdrawn key signed just before the rotation
        int withOldKey = 0;
        int withNewKey = 0;

        async Task CallAsync()
        {
            using HttpClient client = TestClients.RawClient(orders.Certificate);
            while (Volatile.Read(ref withNewKey) < RequestsWithTheNewKey && !deadline.IsCancellationRequested)
            {
                string token = await TokenAsync(client, tokenServer, deadline.Token);
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, "/invoices"));
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using HttpResponseMessage response = await client.SendAsync(request, deadline.Token);
                bool oldKey = new JsonWebToken(token).Kid == firstKid;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    (oldKey && withdrawOldKey ? refusedWithdrawnKey : refused).Enqueue($"{(oldKey ? "old" : "new")} key: {(int)response.StatusCode} {response.Headers.WwwAuthenticate}");
                }

                Interlocked.Increment(ref oldKey ? ref withOldKey : ref withNewKey);
            }
        }

        Task[] callers = [.. Enumerable.Range(0, CallersCount).Select(_ => Task.Run(CallAsync))];
        await Eventually.WaitUntilAsync(() => Volatile.Read(ref withOldKey) >= 2 * CallersCount, "warm: keys loaded, tokens flowing", TimeSpan.FromSeconds(60));
        int fetchesBeforeRotation = tokenServer.JwksRequestCount;
        tokenServer.RotateSigningKey(retirePreviousKeys: withdrawOldKey);
        await Task.WhenAll(callers);

        Assert.IsFalse(deadline.IsCancellationRequested, "the run finished within its bound");
        Assert.AreNotEqual(firstKid, tokenServer.PublishedKeyIds[^1]);
        Assert.IsGreaterThanOrEqualTo(RequestsWithTheNewKey, withNewKey, "callers went on with tokens signed by the new key");
        Assert.IsEmpty(refused, $"{refused.Count} of {withOldKey + withNewKey} requests refused:\n{string.Join('\n', refused.Take(10))}");

        // A withdrawn key's tokens stop verifying once the new JWKS is read: only a token it signed just before the
        // rotation, presented after that, may be refused, and as a token of an unknown key.
        Assert.IsLessThanOrEqualTo(CallersCount, refusedWithdrawnKey.Count, string.Join('\n', refusedWithdrawnKey));
        Assert.IsTrue(refusedWithdrawnKey.IsEmpty || billing.Logs.Contains(1400, "UnknownSigningKey"), string.Join('\n', refusedWithdrawnKey));
        Assert.AreEqual(1, tokenServer.JwksRequestCount - fetchesBeforeRotation, "one JWKS fetch for the new key, shared by every caller that met it");
    }

    [TestMethod]
    public async Task ManyConcurrentRequestsWithRandomKeyIds_FetchTheJwksAtMostOncePerInterval_AndAgainInTheNextOne()
    {
        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        var clock = new ShiftedClock();
        await using TestIssuer issuer = await TestIssuer.StartAsync();
        await using SecureServiceHost billing = await StartBillingAsync(issuer.Issuer, clock);
        using HttpClient client = TestClients.RawClient(orders.Certificate);
        DateTime expires = DateTime.UtcNow.AddHours(1); // outlives the clock's shift
        Assert.AreEqual(HttpStatusCode.OK, await CallAsync(client, billing, issuer.Mint(Resource, orders, expires: expires)), "keys loaded");
        int fetches = issuer.JwksRequests;

        HttpStatusCode[] first = await FloodAsync();
        int afterFirstFlood = issuer.JwksRequests;
        HttpStatusCode[] withinInterval = await FloodAsync();
        int afterSecondFlood = issuer.JwksRequests;
        clock.Shift = TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1);
        HttpStatusCode[] nextInterval = await FloodAsync();

        Assert.IsTrue(first.Concat(withinInterval).Concat(nextInterval).All(s => s == HttpStatusCode.Unauthorized), "every made-up key id is refused");
        Assert.AreEqual(1, afterFirstFlood - fetches, "50 concurrent unknown kids: one fetch, shared");
        Assert.AreEqual(0, afterSecondFlood - afterFirstFlood, "within KeyRefreshMinInterval: none");
        Assert.AreEqual(1, issuer.JwksRequests - afterSecondFlood, "the next interval allows one more");
        Assert.IsTrue(billing.Logs.Contains(1400, "UnknownSigningKey"), "refused as an unknown key, not as malformed");

        Task<HttpStatusCode[]> FloodAsync() => Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() =>
            CallAsync(client, billing, issuer.Mint(Resource, orders, expires: expires, withNotBefore: false, signing: RandomKey())))));
    }

    [TestMethod]
    public async Task IssuerUnreachable_TokensAreRefusedAsIssuerKeysUnavailable_NeverA500_AndTheIssuerIsNotHammered()
    {
        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        await using TestIssuer issuer = await TestIssuer.StartAsync(); // mints tokens; the service is pointed elsewhere
        var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        int port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now
        await using SecureServiceHost billing = await StartBillingAsync($"https://127.0.0.1:{port}");
        IssuerSigningKeys keys = (IssuerSigningKeys)billing.App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerOptions>>()
            .Get(AccessTokenJwtBearerSetup.Scheme).ConfigurationManager!;
        using HttpClient client = TestClients.RawClient(orders.Certificate);
        var elapsed = System.Diagnostics.Stopwatch.StartNew();

        HttpStatusCode[] statuses = new HttpStatusCode[20];
        for (int i = 0; i < statuses.Length; i++)
        {
            statuses[i] = await CallAsync(client, billing, issuer.Mint(Resource, orders));
        }

        elapsed.Stop();
        Assert.IsTrue(statuses.All(s => s == HttpStatusCode.Unauthorized), string.Join(", ", statuses));
        Assert.IsTrue(billing.Logs.Contains(1400, "IssuerKeysUnavailable"), "refused with its own reason");
        Assert.IsTrue(billing.Logs.Contains(1211, "could not fetch the issuer's signing keys"), "the failed fetch is logged");
        int allowed = 1 + (int)(elapsed.Elapsed / IssuerSigningKeys.RetryAfterFailure);
        Assert.IsLessThanOrEqualTo(allowed, keys.Fetches, $"{keys.Fetches} fetches for {statuses.Length} requests in {elapsed.Elapsed}: one per {IssuerSigningKeys.RetryAfterFailure} at most");
    }

    private static async Task<SecureServiceHost> StartBillingAsync(string authority, TimeProvider? clock = null) =>
        await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => $"hello {ctx.GetCallerSpiffeId()}").RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = authority,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Resource,
                ["SecureComms:TokenValidation:KeyRefreshMinInterval"] = "00:05:00",
            },
            services: clock is null ? null : s => s.AddSingleton(clock));

    private static async Task<HttpStatusCode> CallAsync(HttpClient client, SecureServiceHost billing, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, "/invoices"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using HttpResponseMessage response = await client.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>A fresh token from the token endpoint (client credentials, tls_client_auth), signed with the server's current key.</summary>
    private static async Task<string> TokenAsync(HttpClient client, DevelopmentTokenServer server, CancellationToken cancellationToken)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = "orders",
            ["scope"] = "invoices.read",
            ["resource"] = Resource,
        });
        using HttpResponseMessage response = await client.PostAsync(server.TokenEndpoint, form, cancellationToken);
        response.EnsureSuccessStatusCode();
        using JsonDocument body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return body.RootElement.GetProperty("access_token").GetString()!;
    }

    private static SigningCredentials RandomKey() =>
        new(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = Guid.NewGuid().ToString("N") }, SecurityAlgorithms.EcdsaSha256);
}
