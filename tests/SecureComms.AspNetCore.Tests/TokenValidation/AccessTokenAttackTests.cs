using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.TokenValidation;

/// <summary>
/// The receiving side checks the peer certificate, the JWT and the binding before any handler runs: every row is an
/// attack, answered with the right status, RFC 6750 challenge and logged reason, and the handler never runs.
/// </summary>
[TestClass]
public sealed class AccessTokenAttackTests
{
    private const string Audience = "https://billing.example.org";
    private static TestIssuer s_issuer = null!;
    private static SecureServiceHost s_billing = null!;
    private static WorkloadCertificate s_orders = null!;
    private static WorkloadCertificate s_analytics = null!;
    private static int s_handlerRuns;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_orders = TestPki.Issue(TestPki.Orders);
        s_analytics = TestPki.Issue(TestPki.Analytics);
        s_issuer = await TestIssuer.StartAsync();
        s_billing = await SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/invoices", (HttpContext ctx) =>
                {
                    Interlocked.Increment(ref s_handlerRuns);
                    return $"{ctx.GetCallerSpiffeId()} as {ctx.User.FindFirst("client_id")?.Value} with {ctx.User.FindFirst("scope")?.Value}";
                }).RequireCaller("spiffe://example.org/orders", "spiffe://example.org/analytics").RequireScope("invoices.read");
                app.MapGet("/orders-only", () => Interlocked.Increment(ref s_handlerRuns)).RequireCaller("spiffe://example.org/orders");

                // A handler that adds a claim to the token's identity: must not leak into the next request with the same token.
                app.MapGet("/mutate", (HttpContext ctx) =>
                {
                    ctx.User.Identities.Last().AddClaim(new System.Security.Claims.Claim("added", "by-handler"));
                    return ctx.User.FindAll("added").Count().ToString(System.Globalization.CultureInfo.InvariantCulture);
                }).RequireCaller("spiffe://example.org/orders");

                // Composition with ordinary ASP.NET Core policies: the caller rule and a claim rule must both pass.
                app.MapGet("/composed/{client}", (string client) => client)
                    .RequireCaller("spiffe://example.org/orders")
                    .RequireAuthorization(p => p.RequireAssertion(c => c.Resource is HttpContext h && c.User.HasClaim("client_id", (string)h.Request.RouteValues["client"]!)));
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = s_issuer.Issuer,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Audience,
                ["SecureComms:TokenValidation:KeyRefreshMinInterval"] = "00:05:00",
            });
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        await s_billing.DisposeAsync();
        await s_issuer.DisposeAsync();
    }

    [TestMethod]
    public async Task ValidBoundToken_FromTheAllowedCaller_Gets200_AndTheHandlerSeesBothIdentities()
    {
        HttpResponseMessage response = await CallAsync(s_orders, "/invoices", s_issuer.Mint(Audience, s_orders));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        Assert.AreEqual("spiffe://example.org/orders as orders with invoices.read", await response.Content.ReadAsStringAsync());
    }

    /// <summary>The token each attack presents (MSTest <c>DataRow</c>s name the attacks, so that mutation testing maps every row).</summary>
    private static string? TokenFor(string attack) => attack switch
    {
        "no token" => null,
        "garbage token" => "not-a-jwt",
        "alg none" => Unsigned(s_issuer.Mint(Audience, s_orders)),
        "alg none without a kid" => Unsigned(s_issuer.Mint(Audience, s_orders), """{"alg":"none","typ":"at+jwt"}"""),
        "alg None (another spelling)" => Unsigned(s_issuer.Mint(Audience, s_orders), """{"alg":"None","typ":"at+jwt","kid":"test-key-1"}"""),
        "HS256 signed with the issuer's public key" => s_issuer.Mint(Audience, s_orders, signing: KeyConfusion()),
        "ES512, an algorithm outside the allow-list, with the issuer's kid" => s_issuer.Mint(Audience, s_orders, signing: Foreign("test-key-1", ECCurve.NamedCurves.nistP521, SecurityAlgorithms.EcdsaSha512)),
        "ES512 with an unknown kid (no key refresh for it)" => s_issuer.Mint(Audience, s_orders, signing: Foreign("random-es512", ECCurve.NamedCurves.nistP521, SecurityAlgorithms.EcdsaSha512)),
        "unknown kid" => s_issuer.Mint(Audience, s_orders, signing: Foreign("no-such-key")),
        "unknown kid, no nbf (as node-oidc-provider issues them)" => s_issuer.Mint(Audience, s_orders, signing: Foreign("no-such-key"), withNotBefore: false),
        "known kid, wrong key" => s_issuer.Mint(Audience, s_orders, signing: Foreign("test-key-1")),
        "signature of another token" => Spliced(s_issuer.Mint(Audience, s_orders), s_issuer.Mint(Audience, s_analytics)),
        "no exp" => s_issuer.Mint(Audience, s_orders, withExpiry: false),
        "no exp and no nbf" => s_issuer.Mint(Audience, s_orders, withExpiry: false, withNotBefore: false),
        "exp beyond the year 9999" => Raw($$"""{"iss":"{{s_issuer.Issuer}}","aud":"{{Audience}}","sub":"orders","exp":253402300800000,"cnf":{{Bound()}}}"""),
        "exp as a string" => Raw($$"""{"iss":"{{s_issuer.Issuer}}","aud":"{{Audience}}","sub":"orders","exp":"tomorrow","cnf":{{Bound()}}}"""),
        "cnf as a string holding the right object" => Raw(s_issuer.Payload(Audience, $$"""
            "cnf":"{\"x5t#S256\":\"{{s_orders.Sha256Thumbprint}}\"}"
            """)),
        "cnf as an array whose first element matches" => Raw(s_issuer.Payload(Audience, $$"""
            "cnf":[{{Bound()}}]
            """)),
        "cnf twice, the second one matching" => Raw(s_issuer.Payload(Audience, $$"""
            "cnf":{"x5t#S256":"AAAA"},"cnf":{{Bound()}}
            """)),
        "cnf with x5t#S256 as a number" => Raw(s_issuer.Payload(Audience, "\"cnf\":{\"x5t#S256\":42}")),
        "cnf with x5t#S256 as an array holding the thumbprint" => Raw(s_issuer.Payload(Audience, $$"""
            "cnf":{"x5t#S256":["{{s_orders.Sha256Thumbprint}}"]}
            """)),
        "cnf with x5t#S256 twice" => Raw(s_issuer.Payload(Audience, $$"""
            "cnf":{"x5t#S256":"AAAA","x5t#S256":"{{s_orders.Sha256Thumbprint}}"}
            """)),
        "cnf with a lone surrogate in x5t#S256" => Raw(s_issuer.Payload(Audience, "\"cnf\":{\"x5t#S256\":\"\\ud800\"}")),
        "cnf as a string with a lone surrogate" => Raw(s_issuer.Payload(Audience, "\"cnf\":\"{\\ud800}\"")),
        "cnf null" => Raw(s_issuer.Payload(Audience, "\"cnf\":null")),
        "cnf with the member name escaped, holding a string" => Raw(s_issuer.Payload(Audience, $$"""
            "\u0063nf":"{\"x5t#S256\":\"{{s_orders.Sha256Thumbprint}}\"}"
            """)),
        "wrong issuer" => s_issuer.Mint(Audience, s_orders, issuer: "https://evil.example.org"),
        "wrong audience" => s_issuer.Mint("https://payments.example.org", s_orders),
        "expired" => s_issuer.Mint(Audience, s_orders, expires: DateTime.UtcNow.AddMinutes(-5), notBefore: DateTime.UtcNow.AddMinutes(-10)),
        "not yet valid" => s_issuer.Mint(Audience, s_orders, notBefore: DateTime.UtcNow.AddMinutes(10), expires: DateTime.UtcNow.AddMinutes(20)),
        "wrong typ (an ID token or a plain JWT)" => s_issuer.Mint(Audience, s_orders, type: "JWT"),
        "token bound to another certificate (stolen token replay)" => s_issuer.Mint(Audience, s_analytics),
        "token without cnf while binding is required" => s_issuer.Mint(Audience, boundTo: null),
        _ => throw new ArgumentOutOfRangeException(nameof(attack), attack, "no such attack"),
    };

    [TestMethod]
    [DataRow("no token", "MissingToken", false)]
    [DataRow("garbage token", "MalformedToken", true)]
    [DataRow("alg none", "AlgorithmNotAllowed", true)]
    [DataRow("alg none without a kid", "AlgorithmNotAllowed", true)]
    [DataRow("alg None (another spelling)", "AlgorithmNotAllowed", true)]
    [DataRow("HS256 signed with the issuer's public key", "AlgorithmNotAllowed", true)]
    [DataRow("ES512, an algorithm outside the allow-list, with the issuer's kid", "AlgorithmNotAllowed", true)]
    [DataRow("ES512 with an unknown kid (no key refresh for it)", "AlgorithmNotAllowed", true)]
    [DataRow("unknown kid", "UnknownSigningKey", true)]
    [DataRow("unknown kid, no nbf (as node-oidc-provider issues them)", "UnknownSigningKey", true)]
    [DataRow("known kid, wrong key", "BadSignature", true)]
    [DataRow("signature of another token", "BadSignature", true)]
    [DataRow("no exp", "TokenWithoutExpiration", true)]
    [DataRow("no exp and no nbf", "TokenWithoutExpiration", true)]
    [DataRow("exp beyond the year 9999", "MalformedToken", true)]
    [DataRow("exp as a string", "MalformedToken", true)]
    [DataRow("cnf as a string holding the right object", "MalformedToken", true)]
    [DataRow("cnf as an array whose first element matches", "MalformedToken", true)]
    [DataRow("cnf twice, the second one matching", "MalformedToken", true)]
    [DataRow("cnf with x5t#S256 as a number", "MalformedToken", true)]
    [DataRow("cnf with x5t#S256 as an array holding the thumbprint", "MalformedToken", true)]
    [DataRow("cnf with x5t#S256 twice", "MalformedToken", true)]
    [DataRow("cnf with a lone surrogate in x5t#S256", "MalformedToken", true)]
    [DataRow("cnf as a string with a lone surrogate", "MalformedToken", true)]
    [DataRow("cnf null", "MalformedToken", true)]
    [DataRow("cnf with the member name escaped, holding a string", "MalformedToken", true)]
    [DataRow("wrong issuer", "WrongIssuer", true)]
    [DataRow("wrong audience", "WrongAudience", true)]
    [DataRow("expired", "TokenExpired", true)]
    [DataRow("not yet valid", "TokenNotYetValid", true)]
    [DataRow("wrong typ (an ID token or a plain JWT)", "WrongTokenType", true)]
    [DataRow("token bound to another certificate (stolen token replay)", "TokenBoundToAnotherCertificate", true)]
    [DataRow("token without cnf while binding is required", "TokenNotCertificateBound", true)]
    public async Task BadToken_Gets401_WithAnRfc6750Challenge_AndALoggedReason(string attack, string? reason, bool invalidToken)
    {
        int handlerRunsBefore = Volatile.Read(ref s_handlerRuns);
        using var telemetry = new TelemetryCapture(s_billing.App.Services.GetRequiredService<SecureCommsMetrics>().Meter);

        HttpResponseMessage response = await CallAsync(s_orders, "/invoices", TokenFor(attack));

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode, attack);
        string challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.StartsWith("Bearer realm=\"SecureComms\"", challenge, attack);
        Assert.AreEqual(invalidToken, challenge.Contains("error=\"invalid_token\"", StringComparison.Ordinal), $"{attack}: {challenge}");
        Assert.IsFalse(challenge.Contains(SecureCommsUserContext.RefusedChallengeParameter, StringComparison.Ordinal), $"{attack}: the token, not a user context, was refused, so the client may renew it");
        Assert.AreEqual("application/problem+json", response.Content.Headers.ContentType?.MediaType, attack);
        Assert.AreEqual(handlerRunsBefore, Volatile.Read(ref s_handlerRuns), $"{attack}: the handler never ran");
        if (invalidToken)
        {
            Assert.Contains($"error_description=\"{AccessTokenFailure.Describe(reason!)}\"", challenge, $"{attack}: the description of its own reason");
        }

        using (JsonDocument problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            Assert.AreEqual("Unauthorized", problem.RootElement.GetProperty("title").GetString(), attack);
            Assert.AreEqual(AccessTokenFailure.Describe(reason!), problem.RootElement.GetProperty("detail").GetString(), $"{attack}: the problem details name the same reason as the challenge");
        }

        Assert.IsTrue(
            s_billing.Logs.Contains(1203, $"rejected the access token of spiffe://example.org/orders GET /invoices: {reason}"),
            $"{attack}: the token's refusal is logged with its reason");

        if (reason is not null)
        {
            Assert.IsTrue(
                s_billing.Logs.Contains(1400, $"denied spiffe://example.org/orders (user (none)) GET /invoices: {reason}, rule (none) (401)"),
                $"{attack}: one audit event naming the caller and the reason {reason}");
        }

        Assert.IsFalse(s_billing.Logs.Contains(1400, "denied (none)"), $"{attack}: the audit event names the caller whose token was refused");
        Assert.Contains(m => m.Has(SecureCommsTelemetry.Tags.Reason, reason ?? AccessTokenFailure.Missing), telemetry.Measurements(SecureCommsTelemetry.Instruments.AuthorizationDecisions), $"{attack}: the decision metric carries the same reason");
    }

    [TestMethod]
    public void JwtBearerSchemesOfTheApplication_AreLeftAsTheApplicationConfiguresThem()
    {
        IOptionsMonitor<JwtBearerOptions> options = s_billing.App.Services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>();

        JwtBearerOptions secureComms = options.Get(AccessTokenJwtBearerSetup.Scheme);
        JwtBearerOptions application = options.Get(JwtBearerDefaults.AuthenticationScheme);

        Assert.AreEqual(s_issuer.Authority.ToString(), secureComms.Authority);
        Assert.IsNull(application.Authority, "SecureComms configures its own scheme only");
        Assert.IsTrue(application.TokenValidationParameters.ValidateIssuer);
        Assert.IsNull(application.TokenValidationParameters.ValidIssuer);
    }

    [TestMethod]
    public async Task TokenAlreadyValidatedForItsOwner_ReplayedByAnotherCaller_IsStillRejected()
    {
        ValidatedTokenCache cache = s_billing.App.Services.GetRequiredService<ValidatedTokenCache>();
        string token = s_issuer.Mint(Audience, s_orders);
        int cachedBefore = cache.Count;

        HttpResponseMessage owner = await CallAsync(s_orders, "/invoices", token);
        int cachedAfterFirstUse = cache.Count;
        HttpResponseMessage replay = await CallAsync(s_analytics, "/invoices", token);
        HttpResponseMessage ownerAgain = await CallAsync(s_orders, "/invoices", token);

        Assert.AreEqual(HttpStatusCode.OK, owner.StatusCode);
        Assert.AreEqual(cachedBefore + 1, cachedAfterFirstUse, "validated once, then remembered");
        Assert.AreEqual(HttpStatusCode.Unauthorized, replay.StatusCode, "the binding is checked on every request, cached or not");
        Assert.Contains("error=\"invalid_token\"", replay.Headers.WwwAuthenticate.ToString());
        Assert.IsTrue(s_billing.Logs.Contains(1400, "denied spiffe://example.org/analytics (user (none)) GET /invoices: TokenBoundToAnotherCertificate"));
        Assert.AreEqual(HttpStatusCode.OK, ownerAgain.StatusCode);
        Assert.AreEqual(cachedAfterFirstUse, cache.Count, "served from the cache, not validated again");
    }

    [TestMethod]
    public async Task ClaimAddedByOneRequest_DoesNotAppearInTheNextRequestWithTheSameToken()
    {
        string token = s_issuer.Mint(Audience, s_orders);

        HttpResponseMessage first = await CallAsync(s_orders, "/mutate", token);
        HttpResponseMessage second = await CallAsync(s_orders, "/mutate", token);

        Assert.AreEqual("1", await first.Content.ReadAsStringAsync());
        Assert.AreEqual("1", await second.Content.ReadAsStringAsync(), "the shared claims were copied before the change, for that request only");
    }

    [TestMethod]
    public async Task MissingScope_Gets403_WithInsufficientScope()
    {
        HttpResponseMessage response = await CallAsync(s_orders, "/invoices", s_issuer.Mint(Audience, s_orders, scope: "invoices.write"));

        Assert.AreEqual(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("error=\"insufficient_scope\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Contains("scope=\"invoices.read\"", response.Headers.WwwAuthenticate.ToString());
    }

    [TestMethod]
    public async Task ValidTokenButCallerNotAllowed_Gets403()
    {
        HttpResponseMessage response = await CallAsync(s_analytics, "/orders-only", s_issuer.Mint(Audience, s_analytics));

        Assert.AreEqual(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.IsTrue(s_billing.Logs.Contains(1400, "spiffe://example.org/analytics (user (none)) GET /orders-only: NoMatchingRule, rule RequireCaller"));
    }

    [TestMethod]
    [DataRow("orders", HttpStatusCode.OK, DisplayName = "caller rule and claim rule both pass")]
    [DataRow("orders-admin", HttpStatusCode.Forbidden, DisplayName = "caller rule passes, claim rule fails")]
    public async Task RequireCaller_ComposesWithOrdinaryPolicies(string client, HttpStatusCode expected)
    {
        HttpResponseMessage response = await CallAsync(s_orders, $"/composed/{client}", s_issuer.Mint(Audience, s_orders));

        Assert.AreEqual(expected, response.StatusCode);
    }

    [TestMethod]
    [DataRow("Bearer", DisplayName = "scheme without a token")]
    [DataRow("Bearer a.b", DisplayName = "two segments")]
    [DataRow("Basic b3JkZXJzOnNlY3JldA==", DisplayName = "another scheme")]
    [DataRow("Bearer eyJ!!.e30.#$%", DisplayName = "junk characters")]
    [DataRow("Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0", DisplayName = "header and payload without signature part")]
    public async Task MalformedAuthorizationHeader_Gets401_NeverA500(string header)
    {
        using HttpClient client = TestClients.RawClient(s_orders.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s_billing.BaseAddress, "/invoices"));
        request.Headers.TryAddWithoutValidation("Authorization", header);

        HttpResponseMessage response = await client.SendAsync(request);

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [TestMethod]
    public async Task OversizedToken_IsRefused_NeverA500()
    {
        HttpResponseMessage response = await CallAsync(s_orders, "/invoices", new string('a', 64 * 1024));

        Assert.IsTrue(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.RequestHeaderFieldsTooLarge, $"got {(int)response.StatusCode}");
    }

    [TestMethod]
    public async Task FloodOfUnknownKeyIds_RefreshesTheIssuersKeysAtMostOncePerInterval()
    {
        await CallAsync(s_orders, "/invoices", s_issuer.Mint(Audience, s_orders)); // keys loaded
        int before = s_issuer.JwksRequests;

        for (int i = 0; i < 20; i++)
        {
            await CallAsync(s_orders, "/invoices", s_issuer.Mint(Audience, s_orders, signing: Foreign($"random-{i}")));
        }

        Assert.IsLessThanOrEqualTo(1, s_issuer.JwksRequests - before, $"{s_issuer.JwksRequests - before} JWKS fetches for 20 unknown kids");
    }

    private static async Task<HttpResponseMessage> CallAsync(WorkloadCertificate caller, string path, string? token)
    {
        using HttpClient client = TestClients.RawClient(caller.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s_billing.BaseAddress, path));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        HttpResponseMessage response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private static string Unsigned(string jwt, string header = """{"alg":"none","typ":"at+jwt","kid":"test-key-1"}""")
    {
        string[] parts = jwt.Split('.');
        return $"{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header))}.{parts[1]}.";
    }

    /// <summary>The header and payload of one token with the (valid) signature of another.</summary>
    private static string Spliced(string jwt, string signatureOf) => jwt[..jwt.LastIndexOf('.')] + signatureOf[signatureOf.LastIndexOf('.')..];

    private static string Raw(string payloadJson) => s_issuer.MintRaw(payloadJson);

    /// <summary>The cnf object that binds a token to orders' certificate, as raw JSON.</summary>
    private static string Bound() => $$"""{"x5t#S256":"{{s_orders.Sha256Thumbprint}}"}""";

    /// <summary>The classic key-confusion attack: HMAC with the issuer's public key as the secret.</summary>
    private static SigningCredentials KeyConfusion()
    {
        ECParameters p = s_issuer.Key.ECDsa.ExportParameters(false);
        byte[] publicKeyBytes = [.. p.Q.X!, .. p.Q.Y!];
        return new SigningCredentials(new SymmetricSecurityKey(publicKeyBytes) { KeyId = "test-key-1" }, SecurityAlgorithms.HmacSha256);
    }

    private static SigningCredentials Foreign(string kid) => Foreign(kid, ECCurve.NamedCurves.nistP256, SecurityAlgorithms.EcdsaSha256);

    private static SigningCredentials Foreign(string kid, ECCurve curve, string algorithm) =>
        new(new ECDsaSecurityKey(ECDsa.Create(curve)) { KeyId = kid }, algorithm);
}
