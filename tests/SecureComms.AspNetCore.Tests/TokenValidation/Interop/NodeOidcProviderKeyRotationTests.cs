using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using SecureComms.AspNetCore.Tests.Configuration;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;
using SecureComms.Tests.Tokens.Interop;

namespace SecureComms.AspNetCore.Tests.TokenValidation.Interop;

/// <summary>
/// A SecureComms resource server validating the JWT access tokens of the real node-oidc-provider (which issues them
/// without <c>nbf</c>) keeps accepting them when the provider rotates its signing key: the first request with a token
/// signed by the new key is answered 200.
/// </summary>
[TestClass]
public sealed class NodeOidcProviderKeyRotationTests
{
    private const string Resource = "https://billing.example.org";

    [TestMethod]
    public async Task ProviderRotatesItsSigningKey_TheNextRequestWithANewToken_Gets200()
    {
        NodeOidcProvider.RequireOrSkip();
        using var dir = new TemporaryFolder();
        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server")), File(dir, "server.pem"), File(dir, "server.key"));
        TestPki.Ca.WriteTrustBundlePem(File(dir, "ca.pem"));
        await using NodeOidcProvider provider = await NodeOidcProvider.StartAsync(
            new
            {
                serverCertPath = File(dir, "server.pem"),
                serverKeyPath = File(dir, "server.key"),
                caPath = File(dir, "ca.pem"),
                resource = Resource,
                scopes = new[] { "invoices.read" },
                clients = new[]
                {
                    new Dictionary<string, object>
                    {
                        ["client_id"] = "orders",
                        ["scope"] = "invoices.read",
                        ["token_endpoint_auth_method"] = "tls_client_auth",
                        ["tls_client_auth_san_uri"] = TestPki.Orders.ToString(),
                    },
                },
            },
            dir.Path);
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => $"hello {ctx.GetCallerSpiffeId()}").RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = provider.Issuer.ToString(),
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Resource,
                ["SecureComms:TokenValidation:KeyRefreshMinInterval"] = "00:05:00",
            });
        using HttpClient client = TestClients.RawClient(orders.Certificate);

        var before = new JsonWebToken(await TokenAsync(client, provider));
        HttpResponseMessage first = await CallAsync(client, billing, before.EncodedToken);
        string newKid = await provider.RotateSigningKeyAsync();
        var after = new JsonWebToken(await TokenAsync(client, provider));
        HttpResponseMessage next = await CallAsync(client, billing, after.EncodedToken);
        HttpResponseMessage oldTokenAgain = await CallAsync(client, billing, before.EncodedToken);

        Assert.IsFalse(after.TryGetPayloadValue("nbf", out long _), "node-oidc-provider issues access tokens without nbf");
        Assert.AreEqual(HttpStatusCode.OK, first.StatusCode, $"{first.Headers.WwwAuthenticate} — provider: {provider.Errors}");
        Assert.AreNotEqual(before.Kid, after.Kid);
        Assert.AreEqual(newKid, after.Kid, "the new token is signed with the new key");
        Assert.AreEqual(HttpStatusCode.OK, next.StatusCode, $"the first request after the rotation: {next.Headers.WwwAuthenticate}");
        Assert.AreEqual(HttpStatusCode.OK, oldTokenAgain.StatusCode, "the old key is still published, its tokens still valid");
    }

    private static string File(TemporaryFolder dir, string name) => Path.Combine(dir.Path, name);

    /// <summary>Client credentials with tls_client_auth (RFC 8705 §2.1) at the provider's token endpoint.</summary>
    private static async Task<string> TokenAsync(HttpClient client, NodeOidcProvider provider)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = "orders",
            ["scope"] = "invoices.read",
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
