using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.TokenValidation.Introspection;

/// <summary>
/// Opaque access tokens, validated by RFC 7662 introspection at the development token server over mutual TLS (the
/// resource server authenticating with its own SVID, <c>tls_client_auth</c>): a bound token of its owner is accepted;
/// every attack row is refused with 401 <c>invalid_token</c> and its reason before any handler runs; answers are
/// reused by token hash, one call per token however many requests arrive at once; and an endpoint that is down refuses
/// tokens it has no answer for, never with a 500.
/// </summary>
[TestClass]
public sealed class OpaqueTokenIntrospectionTests
{
    private const string Audience = "https://billing.example.org";
    private static DevelopmentTokenServer s_tokenServer = null!;
    private static SecureServiceHost s_billing = null!;
    private static WorkloadCertificate s_orders = null!;
    private static WorkloadCertificate s_analytics = null!;
    private static int s_handlerRuns;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_orders = TestPki.Issue(TestPki.Orders);
        s_analytics = TestPki.Issue(TestPki.Analytics);
        s_tokenServer = await StartTokenServerAsync();
        s_billing = await StartBillingAsync(s_tokenServer, timeout: null);
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        await s_billing.DisposeAsync();
        await s_tokenServer.DisposeAsync();
    }

    [TestMethod]
    public async Task OpaqueBoundToken_FromItsOwner_Gets200_WithTheClaimsTheAnswerCarries()
    {
        using HttpClient client = TestClients.RawClient(s_orders.Certificate);
        string token = await TokenAsync(client);
        using var telemetry = new TelemetryCapture(s_billing.App.Services.GetRequiredService<SecureCommsMetrics>().Meter);

        HttpResponseMessage response = await CallAsync(s_orders, "/invoices", token);

        Assert.DoesNotContain('.', token, "the token server issued an opaque token, not a JWT");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, response.Headers.WwwAuthenticate.ToString());
        Assert.AreEqual("spiffe://example.org/orders as orders with invoices.read via SecureComms.Introspection named orders", await response.Content.ReadAsStringAsync());
        Assert.IsTrue(s_billing.Logs.Contains(1543, "/mtls/introspect"), "the endpoint came from the metadata, its mTLS alias first (RFC 8705 §5)");
        Assert.Contains(m => m.Has(SecureCommsTelemetry.Tags.Result, SecureCommsTelemetry.Results.Success), telemetry.Measurements(SecureCommsTelemetry.Instruments.TokenIntrospections));
    }

    public static IEnumerable<object[]> TokenAttacks()
    {
        yield return ["revoked (inactive) token", (Func<string>)(() => Revoked(s_tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], s_orders.Certificate))), "TokenInactive", true];
        yield return ["token the server never issued", (Func<string>)(() => "bm90LWEtdG9rZW4tb2YtdGhpcy1zZXJ2ZXI"), "TokenInactive", true];
        yield return ["token bound to another certificate (stolen token replay)", (Func<string>)(() => s_tokenServer.IssueOpaqueToken("analytics", Audience, ["invoices.read"], s_analytics.Certificate)), "TokenBoundToAnotherCertificate", true];
        yield return ["token for another audience", (Func<string>)(() => s_tokenServer.IssueOpaqueToken("orders", "https://payments.example.org", ["invoices.read"], s_orders.Certificate)), "WrongAudience", true];
        yield return ["token without cnf while binding is required", (Func<string>)(() => s_tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], boundTo: null)), "TokenNotCertificateBound", true];
        yield return ["characters outside RFC 6750 b64token (never sent to the server)", (Func<string>)(() => "opaque$token"), "MalformedToken", false];
    }

    [TestMethod]
    [DynamicData(nameof(TokenAttacks))]
    public async Task BadOpaqueToken_Gets401_WithAnRfc6750Challenge_AndALoggedReason(string attack, Func<string> token, string reason, bool introspected)
    {
        string presented = token();
        int handlerRunsBefore = Volatile.Read(ref s_handlerRuns);
        int callsBefore = s_tokenServer.IntrospectionRequestCount;

        HttpResponseMessage response = await CallAsync(s_orders, "/invoices", presented);

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode, attack);
        string challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Contains("error=\"invalid_token\"", challenge, attack);
        Assert.Contains($"error_description=\"{AccessTokenFailure.Describe(reason)}\"", challenge, attack);
        Assert.AreEqual("application/problem+json", response.Content.Headers.ContentType?.MediaType, attack);
        Assert.AreEqual(handlerRunsBefore, Volatile.Read(ref s_handlerRuns), $"{attack}: the handler never ran");
        Assert.IsTrue(
            s_billing.Logs.Contains(1400, $"denied spiffe://example.org/orders (user (none)) GET /invoices: {reason}, rule (none) (401)"),
            $"{attack}: one audit event naming the caller and the reason {reason}");
        Assert.AreEqual(introspected ? 1 : 0, s_tokenServer.IntrospectionRequestCount - callsBefore, $"{attack}: introspection calls");
        Assert.IsFalse(s_billing.Logs.GetSnapshot().Any(r => r.Message.Contains(presented, StringComparison.Ordinal)), $"{attack}: the token text is never logged");
    }

    [TestMethod]
    public async Task ActiveAnswer_IsReused_AndTheBindingStillCheckedOnEveryRequest()
    {
        string token = s_tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], s_orders.Certificate);
        int before = s_tokenServer.IntrospectionRequestCount;

        HttpResponseMessage first = await CallAsync(s_orders, "/invoices", token);
        HttpResponseMessage second = await CallAsync(s_orders, "/invoices", token);
        HttpResponseMessage replay = await CallAsync(s_analytics, "/invoices", token);
        HttpResponseMessage third = await CallAsync(s_orders, "/invoices", token);

        Assert.AreEqual(HttpStatusCode.OK, first.StatusCode);
        Assert.AreEqual(HttpStatusCode.OK, second.StatusCode);
        Assert.AreEqual(HttpStatusCode.Unauthorized, replay.StatusCode, "the cached answer still binds the token to orders' certificate");
        Assert.IsTrue(s_billing.Logs.Contains(1400, "denied spiffe://example.org/analytics (user (none)) GET /invoices: TokenBoundToAnotherCertificate"));
        Assert.AreEqual(HttpStatusCode.OK, third.StatusCode);
        Assert.AreEqual(1, s_tokenServer.IntrospectionRequestCount - before, "one introspection call for four requests");
    }

    [TestMethod]
    public async Task ValidatedTokenCacheOff_EachOpaqueTokenGetsItsOwnAnswer()
    {
        await using SecureServiceHost billing = await StartBillingAsync(s_tokenServer, timeout: null, validatedTokenCacheSize: 0);
        string active = s_tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], s_orders.Certificate);
        string revoked = Revoked(s_tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], s_orders.Certificate));
        using HttpClient client = TestClients.RawClient(s_orders.Certificate);

        HttpStatusCode first = await StatusAsync(active);
        HttpStatusCode second = await StatusAsync(revoked);
        HttpStatusCode again = await StatusAsync(active);

        Assert.AreEqual(HttpStatusCode.OK, first);
        Assert.AreEqual(HttpStatusCode.Unauthorized, second, "answers are kept by each token's own hash, also without the validated-token cache");
        Assert.AreEqual(HttpStatusCode.OK, again);
        Assert.IsTrue(billing.Logs.Contains(1400, "denied spiffe://example.org/orders (user (none)) GET /invoices: TokenInactive"));

        async Task<HttpStatusCode> StatusAsync(string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, "/invoices"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using HttpResponseMessage response = await client.SendAsync(request);
            return response.StatusCode;
        }
    }

    [TestMethod]
    public async Task InactiveAnswer_IsReusedBriefly_WithoutAnotherCall()
    {
        string token = Revoked(s_tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], s_orders.Certificate));
        int before = s_tokenServer.IntrospectionRequestCount;

        HttpResponseMessage first = await CallAsync(s_orders, "/invoices", token);
        HttpResponseMessage again = await CallAsync(s_orders, "/invoices", token);

        Assert.AreEqual(HttpStatusCode.Unauthorized, first.StatusCode);
        Assert.AreEqual(HttpStatusCode.Unauthorized, again.StatusCode);
        Assert.AreEqual(1, s_tokenServer.IntrospectionRequestCount - before, "a replayed inactive token does not reach the server again within NegativeCacheDuration");
    }

    [TestMethod]
    public async Task ConcurrentFirstRequests_ForOneToken_ShareOneIntrospectionCall()
    {
        const int Requests = 8;
        string token = s_tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], s_orders.Certificate);
        IntrospectionCache cache = s_billing.App.Services.GetRequiredService<TokenIntrospector>().Cache;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int before = s_tokenServer.IntrospectionRequestCount;
        int joinedBefore = cache.JoinedCalls;
        s_tokenServer.BeforeIntrospectionResponse = _ => release.Task;
        try
        {
            Task<HttpResponseMessage>[] calls = [.. Enumerable.Range(0, Requests).Select(_ => CallAsync(s_orders, "/invoices", token))];

            // Every other request is waiting on the one call the server is holding before it is let go.
            await Eventually.WaitUntilAsync(() => cache.JoinedCalls - joinedBefore == Requests - 1, "the other requests join the call in flight");
            release.SetResult();
            HttpResponseMessage[] responses = await Task.WhenAll(calls);

            Assert.IsTrue(responses.All(r => r.StatusCode == HttpStatusCode.OK), string.Join(", ", responses.Select(r => (int)r.StatusCode)));
            Assert.AreEqual(1, s_tokenServer.IntrospectionRequestCount - before, $"{Requests} concurrent first requests, one introspection call");
        }
        finally
        {
            s_tokenServer.BeforeIntrospectionResponse = null;
            release.TrySetResult();
        }
    }

    [TestMethod]
    public async Task IntrospectionDown_NothingCached_Gets401_NeverA500_AndTheFailureIsNotRemembered()
    {
        string token = s_tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], s_orders.Certificate);
        HttpResponseMessage whileDown;
        s_tokenServer.IntrospectionAvailable = false;
        try
        {
            whileDown = await CallAsync(s_orders, "/invoices", token);
        }
        finally
        {
            s_tokenServer.IntrospectionAvailable = true;
        }

        HttpResponseMessage afterRecovery = await CallAsync(s_orders, "/invoices", token);

        Assert.AreEqual(HttpStatusCode.Unauthorized, whileDown.StatusCode);
        Assert.Contains("error=\"invalid_token\"", whileDown.Headers.WwwAuthenticate.ToString());
        Assert.IsTrue(s_billing.Logs.Contains(1400, "GET /invoices: IntrospectionUnavailable"));
        Assert.IsTrue(s_billing.Logs.Contains(1542, "HttpStatus 503"));
        Assert.AreEqual(HttpStatusCode.OK, afterRecovery.StatusCode, "the next request after the server is back introspects again");
    }

    [TestMethod]
    public async Task IntrospectionDown_WithACachedActiveAnswer_Gets200()
    {
        string token = s_tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], s_orders.Certificate);
        HttpResponseMessage before = await CallAsync(s_orders, "/invoices", token);
        HttpResponseMessage whileDown;
        int calls = s_tokenServer.IntrospectionRequestCount;
        s_tokenServer.IntrospectionAvailable = false;
        try
        {
            whileDown = await CallAsync(s_orders, "/invoices", token);
        }
        finally
        {
            s_tokenServer.IntrospectionAvailable = true;
        }

        Assert.AreEqual(HttpStatusCode.OK, before.StatusCode);
        Assert.AreEqual(HttpStatusCode.OK, whileDown.StatusCode, "the answer cached before the outage still holds");
        Assert.AreEqual(calls, s_tokenServer.IntrospectionRequestCount);
    }

    [TestMethod]
    public async Task IntrospectionEndpointThatNeverAnswers_TimesOut_Gets401_NeverHangs()
    {
        await using DevelopmentTokenServer tokenServer = await StartTokenServerAsync();
        await using SecureServiceHost billing = await StartBillingAsync(tokenServer, timeout: TimeSpan.FromSeconds(1));
        string token = tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], s_orders.Certificate);
        var never = new TaskCompletionSource();
        tokenServer.BeforeIntrospectionResponse = cancel => never.Task.WaitAsync(cancel);

        HttpResponseMessage response = await CallAsync(s_orders, billing, "/invoices", token);

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.IsTrue(billing.Logs.Contains(1400, "GET /invoices: IntrospectionUnavailable"));
        Assert.IsTrue(billing.Logs.Contains(1542, "Timeout"));
    }

    [TestMethod]
    public async Task JwtAccessToken_StillTakesTheJwtPath_WithoutAnIntrospectionCall()
    {
        var claims = new Dictionary<string, object> { ["scope"] = "invoices.read", ["client_id"] = "orders" };
        string jwt = s_tokenServer.IssueUserToken("orders", Audience, claims, s_orders.Certificate);
        int before = s_tokenServer.IntrospectionRequestCount;

        HttpResponseMessage response = await CallAsync(s_orders, "/invoices", jwt);

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, response.Headers.WwwAuthenticate.ToString());
        Assert.DoesNotContain("via SecureComms.Introspection", await response.Content.ReadAsStringAsync());
        Assert.AreEqual(before, s_tokenServer.IntrospectionRequestCount);
    }

    [TestMethod]
    public async Task RevokedToken_IsRefused_OnceMaxCacheDurationIsOver_EvenOnTheSameConnection()
    {
        await using DevelopmentTokenServer tokenServer = await StartTokenServerAsync();
        await using SecureServiceHost billing = await StartBillingAsync(tokenServer, timeout: null, maxCacheDuration: TimeSpan.Zero);
        string token = tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], s_orders.Certificate);
        using HttpClient connection = TestClients.RawClient(s_orders.Certificate);

        HttpResponseMessage before = await SendAsync(connection, billing, token);
        tokenServer.RevokeOpaqueToken(token);
        HttpResponseMessage after = await SendAsync(connection, billing, token);

        Assert.AreEqual(HttpStatusCode.OK, before.StatusCode);
        Assert.AreEqual(HttpStatusCode.Unauthorized, after.StatusCode, "neither the answer nor the connection's header object outlives MaxCacheDuration");
        Assert.IsTrue(billing.Logs.Contains(1400, "GET /invoices: TokenInactive"));
        Assert.AreEqual(2, tokenServer.IntrospectionRequestCount);
    }

    [TestMethod]
    public async Task MissingScope_Gets403_WithInsufficientScope_AsForAJwt()
    {
        string token = s_tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.write"], s_orders.Certificate);

        HttpResponseMessage response = await CallAsync(s_orders, "/invoices", token);

        Assert.AreEqual(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("error=\"insufficient_scope\"", response.Headers.WwwAuthenticate.ToString());
    }

    private static string Revoked(string token)
    {
        s_tokenServer.RevokeOpaqueToken(token);
        return token;
    }

    private static Task<DevelopmentTokenServer> StartTokenServerAsync() => DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
    {
        ServerCertificate = TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server")),
        ClientTrust = TestPki.Ca.CreateTrustBundle(),
        Clients =
        [
            new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TestPki.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [Audience], OpaqueAccessTokens = true },
            new DevelopmentClient { ClientId = "billing", TlsClientAuthSanUri = TestPki.Billing },
        ],
    });

    private static Task<SecureServiceHost> StartBillingAsync(DevelopmentTokenServer tokenServer, TimeSpan? timeout, TimeSpan? maxCacheDuration = null, int? validatedTokenCacheSize = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SecureComms:TokenValidation:Authority"] = tokenServer.Issuer.ToString(),
            ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
            ["SecureComms:TokenValidation:Audience"] = Audience,
            ["SecureComms:TokenValidation:Introspection:Enabled"] = "true",
            ["SecureComms:TokenValidation:Introspection:ClientId"] = "billing",
        };
        if (validatedTokenCacheSize is { } size)
        {
            settings["SecureComms:TokenValidation:ValidatedTokenCacheSize"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (maxCacheDuration is { } cap)
        {
            settings["SecureComms:TokenValidation:Introspection:MaxCacheDuration"] = cap.ToString();
        }

        if (timeout is { } limit)
        {
            settings["SecureComms:TokenValidation:Introspection:Endpoint"] = tokenServer.IntrospectionEndpoint.ToString();
            settings["SecureComms:TokenValidation:Introspection:Timeout"] = limit.ToString();
        }

        return SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) =>
            {
                Interlocked.Increment(ref s_handlerRuns);
                return $"{ctx.GetCallerSpiffeId()} as {ctx.User.FindFirst("client_id")?.Value} with {ctx.User.FindFirst("scope")?.Value} via {ctx.User.Identities.Last().AuthenticationType} named {ctx.User.Identities.Last().Name}";
            }).RequireCaller("spiffe://example.org/orders", "spiffe://example.org/analytics").RequireScope("invoices.read"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            settings);
    }

    /// <summary>Client credentials with tls_client_auth at the token server: an opaque token bound to the caller's certificate.</summary>
    private static async Task<string> TokenAsync(HttpClient client)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = "orders", ["scope"] = "invoices.read" });
        using HttpResponseMessage response = await client.PostAsync(s_tokenServer.TokenEndpoint, form);
        string body = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
        using JsonDocument json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    private static Task<HttpResponseMessage> CallAsync(WorkloadCertificate caller, string path, string token) => CallAsync(caller, s_billing, path, token);

    private static async Task<HttpResponseMessage> CallAsync(WorkloadCertificate caller, SecureServiceHost billing, string path, string token)
    {
        using HttpClient client = TestClients.RawClient(caller.Certificate);
        return await SendAsync(client, billing, token, path);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, SecureServiceHost billing, string token, string path = "/invoices")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        HttpResponseMessage response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
