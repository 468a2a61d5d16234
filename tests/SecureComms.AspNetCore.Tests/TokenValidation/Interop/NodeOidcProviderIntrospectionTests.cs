using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;
using SecureComms.Tests.Tokens.Interop;

namespace SecureComms.AspNetCore.Tests.TokenValidation.Interop;

/// <summary>
/// A SecureComms resource server accepting the opaque, certificate-bound access tokens of the real node-oidc-provider:
/// it finds the provider's introspection endpoint in its metadata, introspects over mutual TLS with its own SVID
/// (<c>tls_client_auth</c>, registered at the provider), accepts the token from the certificate it is bound to
/// (<c>cnf.x5t#S256</c> in the answer, RFC 8705 §3.2) and refuses it from any other.
/// </summary>
[TestClass]
public sealed class NodeOidcProviderIntrospectionTests
{
    private const string JwtResource = "https://reports.example.org";
    private const string Resource = "https://billing.example.org";

    [TestMethod]
    public async Task OpaqueBoundTokenOfTheProvider_FromItsOwner_Gets200_FromAnotherCertificate_Gets401()
    {
        NodeOidcProvider.RequireOrSkip();
        using var dir = new TemporaryFolder();
        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        WorkloadCertificate analytics = TestPki.Issue(TestPki.Analytics);
        DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server")), File(dir, "server.pem"), File(dir, "server.key"));
        TestPki.Ca.WriteTrustBundlePem(File(dir, "ca.pem"));
        await using NodeOidcProvider provider = await NodeOidcProvider.StartAsync(
            new
            {
                serverCertPath = File(dir, "server.pem"),
                serverKeyPath = File(dir, "server.key"),
                caPath = File(dir, "ca.pem"),
                resource = JwtResource,
                opaqueResource = Resource,
                introspectors = new[] { "billing" },
                scopes = new[] { "invoices.read" },
                clients = new[]
                {
                    Client("orders", TestPki.Orders, "invoices.read"),
                    Client("billing", TestPki.Billing, scope: null), // introspects only
                },
            },
            dir.Path);
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => $"{ctx.GetCallerSpiffeId()} as {ctx.User.FindFirst("client_id")?.Value}")
                .RequireCaller("spiffe://example.org/orders", "spiffe://example.org/analytics")
                .RequireScope("invoices.read"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = provider.Issuer.ToString(),
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Resource,
                ["SecureComms:TokenValidation:Introspection:Enabled"] = "true",
                ["SecureComms:TokenValidation:Introspection:ClientId"] = "billing",
            });
        using HttpClient ordersClient = TestClients.RawClient(orders.Certificate);
        using HttpClient analyticsClient = TestClients.RawClient(analytics.Certificate);

        string token = await TokenAsync(ordersClient, provider);
        HttpResponseMessage owner = await CallAsync(ordersClient, billing, token);
        HttpResponseMessage replay = await CallAsync(analyticsClient, billing, token);
        HttpResponseMessage unknown = await CallAsync(ordersClient, billing, "bm90LWEtdG9rZW4tb2YtdGhlLXByb3ZpZGVy");

        Assert.DoesNotContain('.', token, "the provider issued an opaque token for the opaque resource");
        Assert.AreEqual(HttpStatusCode.OK, owner.StatusCode, $"{owner.Headers.WwwAuthenticate} — {string.Join(" | ", billing.Logs.GetSnapshot().Where(r => r.Id.Id is 1542 or 1543).Select(r => r.Message))} — provider: {provider.Errors}");
        Assert.AreEqual("spiffe://example.org/orders as orders", await owner.Content.ReadAsStringAsync());
        Assert.IsTrue(billing.Logs.Contains(1543, "/token/introspection"), "the endpoint came from the provider's metadata");
        Assert.AreEqual(HttpStatusCode.Unauthorized, replay.StatusCode);
        Assert.IsTrue(billing.Logs.Contains(1400, "denied spiffe://example.org/analytics (user (none)) GET /invoices: TokenBoundToAnotherCertificate"));
        Assert.AreEqual(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.IsTrue(billing.Logs.Contains(1400, "GET /invoices: TokenInactive"), "the provider answers active: false for a token it never issued");
    }

    private static Dictionary<string, object> Client(string clientId, SpiffeId id, string? scope)
    {
        var client = new Dictionary<string, object>
        {
            ["client_id"] = clientId,
            ["token_endpoint_auth_method"] = "tls_client_auth",
            ["tls_client_auth_san_uri"] = id.ToString(),
        };
        if (scope is not null)
        {
            client["scope"] = scope; // the provider refuses an empty scope in client metadata
        }

        return client;
    }

    private static string File(TemporaryFolder dir, string name) => Path.Combine(dir.Path, name);

    /// <summary>Client credentials with tls_client_auth (RFC 8705 §2.1) for the opaque resource (RFC 8707).</summary>
    private static async Task<string> TokenAsync(HttpClient client, NodeOidcProvider provider)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = "orders",
            ["scope"] = "invoices.read",
            ["resource"] = Resource,
        });
        using HttpResponseMessage response = await client.PostAsync(new Uri(provider.Issuer, "/token"), form);
        string body = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, $"{body} — provider: {provider.Errors}");
        using JsonDocument json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    private static async Task<HttpResponseMessage> CallAsync(HttpClient client, SecureServiceHost billing, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, "/invoices"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        HttpResponseMessage response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
