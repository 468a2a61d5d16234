using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureComms.AspNetCore.Tests.Configuration;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Client;

/// <summary>
/// An outbound client configured only in appsettings.json gets a certificate-bound token from a real token server
/// and calls a protected API, which checks the signature, issuer, audience and the binding to the TLS client certificate.
/// </summary>
[TestClass]
public sealed class CertificateBoundTokenClientTests
{
    private const string Resource = "https://billing.example.org";

    [TestMethod]
    public async Task ClientConfiguredInAppSettings_CallsAProtectedApi_WithATokenBoundToItsCertificate()
    {
        await using var world = await World.StartAsync();
        HttpClient billing = world.OrdersClient();

        HttpResponseMessage response = await billing.GetAsync(new Uri("/invoices", UriKind.Relative));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        Assert.AreEqual("token bound to spiffe://example.org/orders", await response.Content.ReadAsStringAsync());
        Assert.AreEqual(1, world.TokenServer.TokenRequestCount);
    }

    [TestMethod]
    public async Task ManyCalls_ReuseOneCachedToken()
    {
        await using var world = await World.StartAsync();
        HttpClient billing = world.OrdersClient();

        HttpResponseMessage[] responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => billing.GetAsync(new Uri("/invoices", UriKind.Relative))));

        Assert.IsTrue(responses.All(r => r.StatusCode == HttpStatusCode.OK));
        Assert.AreEqual(1, world.TokenServer.TokenRequestCount);
    }

    [TestMethod]
    public async Task NoTokenObtainable_FailsClosed_AndTheRequestIsNeverSent()
    {
        await using var world = await World.StartAsync();
        world.TokenServer.EnqueueFailures(20, HttpStatusCode.ServiceUnavailable);
        HttpClient billing = world.OrdersClient();

        TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => billing.GetAsync(new Uri("/invoices", UriKind.Relative)));

        Assert.AreEqual("server_unavailable", error.Error);
        Assert.AreEqual(0, world.ApiRequests, "the API never saw a request without a token");
    }

    [TestMethod]
    public async Task InvalidTokenAnswer_RenewsTheTokenOnce_AndReplaysTheRequest()
    {
        await using var world = await World.StartAsync();
        world.RejectNextTokenAsInvalid = true;
        HttpClient billing = world.OrdersClient();

        HttpResponseMessage response = await billing.PostAsync(new Uri("/invoices", UriKind.Relative), new StringContent("{}"));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual(2, world.TokenServer.TokenRequestCount, "the rejected token was replaced");
        Assert.AreEqual(2, world.ApiRequests, "the request was replayed once");
    }

    [TestMethod]
    public async Task UserContextRefusedByASecureCommsService_IsNotAnsweredByRenewingTheToken()
    {
        // Billing accepts no user context: its 401 carries invalid_token and the user-context code, and a new access token
        // would be refused the same way.
        await using var world = await World.StartAsync(mintUserContext: true);
        HttpClient billing = world.OrdersClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/invoices", UriKind.Relative)) { Content = new StringContent("{}") };
        request.Options.Set(SecureCommsUserContext.User, new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "alice")], "Edge")));

        HttpResponseMessage response = await billing.SendAsync(request);

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        string challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Contains("error=\"invalid_token\"", challenge);
        Assert.Contains(SecureCommsUserContext.RefusedChallengeParameter, challenge);
        Assert.AreEqual(1, world.TokenServer.TokenRequestCount, "the token was not renewed");
    }

    [TestMethod]
    public async Task InvalidTokenAnswer_WithTheUserContextCode_IsNotAnsweredByRenewingTheToken_WhateverItsDescription()
    {
        // The code decides, not the wording: this challenge has no error_description at all.
        await using var world = await World.StartAsync();
        world.RejectionChallenge = "Bearer error=\"invalid_token\", " + SecureCommsUserContext.RefusedChallengeParameter;
        world.RejectNextTokenAsInvalid = true;
        HttpClient billing = world.OrdersClient();

        HttpResponseMessage response = await billing.PostAsync(new Uri("/invoices", UriKind.Relative), new StringContent("{}"));

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.AreEqual(1, world.TokenServer.TokenRequestCount, "the token was not renewed");
        Assert.AreEqual(1, world.ApiRequests, "the request was not replayed");
    }

    [TestMethod]
    public async Task LogsAndExceptions_NeverContainTheToken()
    {
        await using var world = await World.StartAsync();
        HttpClient billing = world.OrdersClient();
        await billing.GetAsync(new Uri("/invoices", UriKind.Relative));

        Assert.IsNotNull(world.LastTokenSeen);
        string everything = string.Join("\n", world.ClientLogs.GetSnapshot().Select(e => e.Message));
        Assert.DoesNotContain(world.LastTokenSeen, everything, "no log line carries the token");
        Assert.DoesNotContain(world.LastTokenSeen.Split('.')[2], everything, "not even its signature");
    }

    /// <summary>A token server, a protected billing API and an orders client, all real, all on loopback.</summary>
    private sealed class World : IAsyncDisposable
    {
        private readonly TemporaryFolder _dir;
        private readonly ServiceProvider _orders;
        private readonly SecureServiceHost _billing;
        private int _apiRequests;

        private World(TemporaryFolder dir, DevelopmentTokenServer tokenServer, SecureServiceHost billing, ServiceProvider orders, FakeLogCollector clientLogs)
        {
            _dir = dir;
            TokenServer = tokenServer;
            _billing = billing;
            _orders = orders;
            ClientLogs = clientLogs;
        }

        public DevelopmentTokenServer TokenServer { get; }

        public FakeLogCollector ClientLogs { get; }

        public int ApiRequests => Volatile.Read(ref _apiRequests);

        public bool RejectNextTokenAsInvalid { get; set; }

        /// <summary>The <c>WWW-Authenticate</c> of that rejection.</summary>
        public string RejectionChallenge { get; set; } = "Bearer error=\"invalid_token\"";

        public string? LastTokenSeen { get; private set; }

        public static async Task<World> StartAsync(bool mintUserContext = false)
        {
            var dir = new TemporaryFolder();
            var tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
            {
                ServerCertificate = TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server")),
                ClientTrust = TestPki.Ca.CreateTrustBundle(),
                Clients =
                [
                    new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TestPki.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [Resource] },
                ],
            });
            JsonWebKeySet keys = await FetchKeysAsync(tokenServer.JwksUri);
            World? world = null;
            SecureServiceHost billing = await SecureServiceHost.StartAsync(
                app =>
                {
                    app.MapMethods("/invoices", ["GET", "POST"], (Delegate)(async (HttpContext ctx) => await world!.CheckTokenAsync(ctx, tokenServer.Issuer, keys)))
                        .RequireCaller("spiffe://example.org/orders");
                },
                new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
                TestPki.Bundles());

            // The orders side is configured only by an appsettings.json file, as a team would ship it.
            string cert = Path.Combine(dir.Path, "orders.pem");
            string key = Path.Combine(dir.Path, "orders.key");
            string bundle = Path.Combine(dir.Path, "bundle.pem");
            DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(TestPki.Orders), cert, key);
            TestPki.Ca.WriteTrustBundlePem(bundle);
            string appsettings = Path.Combine(dir.Path, "appsettings.json");
            await File.WriteAllTextAsync(appsettings, $$"""
            {
              "SecureComms": {
                "Certificate": { "CertificatePath": "{{cert}}", "KeyPath": "{{key}}" },
                "TrustBundles": { "example.org": { "Path": "{{bundle}}" } },
                "Clients": {
                  "billing": {
                    "BaseAddress": "{{billing.BaseAddress}}",
                    "ExpectedServer": "spiffe://example.org/billing",
                    "Token": {
                      "Authority": "{{tokenServer.Issuer}}",
                      "ExpectedServer": "spiffe://example.org/token-server",
                      "ClientId": "orders",
                      "Scope": "invoices.read",
                      "Resource": "{{Resource}}",
                      "RetryBaseDelay": "00:00:00.010"
                    }{{(mintUserContext ? ",\n                    \"UserContext\": { \"Mode\": \"Mint\" }" : "")}}
                  }
                }
              }
            }
            """);
            IConfiguration configuration = new ConfigurationBuilder().AddJsonFile(appsettings).Build();
            var logs = new FakeLogCollector();
            var services = new ServiceCollection().AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace));
            services.AddSecureCommsCore(configuration);
            ServiceProvider orders = services.BuildServiceProvider();
            world = new World(dir, tokenServer, billing, orders, logs);
            return world;
        }

        public HttpClient OrdersClient() => _orders.GetRequiredService<IHttpClientFactory>().CreateClient("billing");

        private async Task<IResult> CheckTokenAsync(HttpContext context, Uri issuer, JsonWebKeySet keys)
        {
            Interlocked.Increment(ref _apiRequests);
            AuthenticationHeaderValue? authorization = AuthenticationHeaderValue.TryParse(context.Request.Headers.Authorization, out var parsed) ? parsed : null;
            if (authorization is not { Scheme: "Bearer", Parameter: { } token })
            {
                return Results.Unauthorized();
            }

            LastTokenSeen = token;
            if (RejectNextTokenAsInvalid)
            {
                RejectNextTokenAsInvalid = false;
                context.Response.Headers.WWWAuthenticate = RejectionChallenge;
                return Results.StatusCode(401);
            }

            TokenValidationResult result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
            {
                ValidIssuer = issuer.ToString().TrimEnd('/'),
                ValidAudience = Resource,
                IssuerSigningKeys = keys.GetSigningKeys(),
                ValidTypes = ["at+jwt"],
            });
            if (!result.IsValid)
            {
                return Results.Text($"invalid token: {result.Exception?.GetType().Name}", statusCode: 401);
            }

            // RFC 8705 §3: the token must be bound to the certificate of this very connection.
            using JsonDocument cnf = JsonDocument.Parse(((JsonWebToken)result.SecurityToken).GetClaim("cnf").Value);
            string bound = cnf.RootElement.GetProperty("x5t#S256").GetString()!;
            string presented = Base64Url.EncodeToString(SHA256.HashData(context.Connection.ClientCertificate!.RawData));
            return bound == presented
                ? Results.Text($"token bound to {context.GetCallerSpiffeId()}")
                : Results.Text("token bound to another certificate", statusCode: 401);
        }

        private static async Task<JsonWebKeySet> FetchKeysAsync(Uri jwks)
        {
            using HttpClient raw = TestClients.RawClient(TestPki.Issue(TestPki.Orders).Certificate);
            return new JsonWebKeySet(await raw.GetStringAsync(jwks));
        }

        public async ValueTask DisposeAsync()
        {
            await _orders.DisposeAsync();
            await _billing.DisposeAsync();
            await TokenServer.DisposeAsync();
            _dir.Dispose();
        }
    }
}
