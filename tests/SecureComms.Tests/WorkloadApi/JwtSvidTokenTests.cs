using Microsoft.IdentityModel.JsonWebTokens;
using SecureComms.Testing;

namespace SecureComms.Tests.WorkloadApi;

/// <summary>
/// A client with <c>Token:Source = JwtSvid</c> sends a JWT-SVID for its audience from the Workload API (here the
/// development server over its Unix socket): cached, renewed ahead of expiry on the same rule as OAuth tokens, and
/// no token means no request.
/// </summary>
[TestClass]
public sealed class JwtSvidTokenTests
{
    private const string Audience = "spiffe://example.org/billing";
    private static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task Token_IsAJwtSvidOfTheWorkload_ForTheConfiguredAudience()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);

        AccessToken token = await bed.Provider.GetTokenAsync(TestContext.CancellationToken);

        var jwt = new JsonWebToken(token.Value);
        Assert.AreEqual(Orders.ToString(), jwt.Subject);
        Assert.AreSequenceEqual(new[] { Audience }, jwt.Audiences);
        Assert.AreEqual(new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero), token.ExpiresAt);
        Assert.AreEqual("Bearer " + token.Value, token.AuthorizationHeaderValue);
        Assert.IsNull(token.Scope, "a JWT-SVID carries no scope");
    }

    [TestMethod]
    public async Task Fetch_IsLoggedAsAJwtSvid_NotAsATokenBoundToTheCertificate()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);

        await bed.Provider.GetTokenAsync(TestContext.CancellationToken);

        Assert.IsTrue(bed.Logs.Contains(1830, $"obtained a JWT-SVID for {Orders}, audience {Audience}"), "the fetch is logged with its SPIFFE ID and audience");
        Assert.AreEqual(0, bed.Logs.CountOf(1501), "a JWT-SVID is bound to no certificate");
    }

    [TestMethod]
    public async Task SecondRequest_IsServedFromTheCache_WithoutAskingTheAgent()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);

        AccessToken first = await bed.Provider.GetTokenAsync(TestContext.CancellationToken);
        bed.Clock.Advance(TimeSpan.FromMinutes(4));
        AccessToken second = await bed.Provider.GetTokenAsync(TestContext.CancellationToken);

        Assert.AreSame(first, second);
        Assert.AreEqual(1, bed.Server.JwtSvidRequestCount);
    }

    [TestMethod]
    public async Task Token_IsRenewedAheadOfExpiry_WhileTheOldOneIsStillServed()
    {
        // 5-minute JWT-SVIDs: renewed 30 s before expiry (10 % of the lifetime, below the 60 s cap), as OAuth tokens are.
        await using Bed bed = await Bed.StartAsync(TestContext);
        AccessToken first = await bed.Provider.GetTokenAsync(TestContext.CancellationToken);

        bed.Clock.Advance(TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(29));
        Assert.AreSame(first, await bed.Provider.GetTokenAsync(TestContext.CancellationToken), "not yet due");
        Assert.AreEqual(1, bed.Server.JwtSvidRequestCount);

        bed.Clock.Advance(TimeSpan.FromSeconds(2));
        AccessToken during = await bed.Provider.GetTokenAsync(TestContext.CancellationToken);
        await Eventually.WaitUntilAsync(() => bed.Server.JwtSvidRequestCount == 2, "the renewal reached the agent");
        AccessToken renewed = first;
        await Eventually.WaitUntilAsync(
            async () => !ReferenceEquals(renewed = await bed.Provider.GetTokenAsync(TestContext.CancellationToken), first),
            "the renewed token is served");

        Assert.AreSame(first, during, "the still-valid token is served while the renewal runs");
        Assert.IsGreaterThan(first.ExpiresAt, renewed.ExpiresAt);
        Assert.AreEqual(2, bed.Server.JwtSvidRequestCount, "one renewal, however many callers");
    }

    [TestMethod]
    public async Task ConcurrentCallers_ShareOneRequest()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);

        AccessToken[] tokens = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => bed.Provider.GetTokenAsync(TestContext.CancellationToken).AsTask()));

        Assert.AreEqual(1, bed.Server.JwtSvidRequestCount);
        Assert.IsTrue(tokens.All(t => ReferenceEquals(t, tokens[0])));
    }

    [TestMethod]
    public async Task AgentDown_FailsClosed_AndTheRequestIsNotSent()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);
        await bed.Server.StopAsync();
        var inner = new CountingHandler();
        using var invoker = new HttpMessageInvoker(new CertificateBoundTokenHandler(bed.Provider) { InnerHandler = inner });

        TokenAcquisitionException refused = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(
            () => invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "https://billing.example.org/invoices"), TestContext.CancellationToken));

        Assert.AreEqual("server_unavailable", refused.Error);
        Assert.AreEqual(new Uri(bed.Server.Socket), refused.TokenEndpoint, "the error names the Workload API address");
        Assert.AreEqual(0, inner.Requests, "no token, no request");
    }

    [TestMethod]
    public async Task CachedToken_Expired_AndAgentDown_FailsClosed()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);
        await bed.Provider.GetTokenAsync(TestContext.CancellationToken);
        await bed.Server.StopAsync();

        bed.Clock.Advance(TimeSpan.FromMinutes(6));

        TokenAcquisitionException refused = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(
            async () => await bed.Provider.GetTokenAsync(TestContext.CancellationToken));
        Assert.AreEqual("server_unavailable", refused.Error);
    }

    [TestMethod]
    public async Task NoIdentityRegistered_FailsClosed_WithPermissionDenied()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);
        bed.Server.DenyAll = true;

        TokenAcquisitionException refused = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(
            async () => await bed.Provider.GetTokenAsync(TestContext.CancellationToken));

        Assert.AreEqual("permission_denied", refused.Error);
    }

    [TestMethod]
    public async Task SpiffeIdTheAgentDoesNotHold_FailsClosed()
    {
        await using Bed bed = await Bed.StartAsync(TestContext, spiffeId: "spiffe://example.org/someone-else");

        TokenAcquisitionException refused = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(
            async () => await bed.Provider.GetTokenAsync(TestContext.CancellationToken));

        Assert.AreEqual("permission_denied", refused.Error);
    }

    [TestMethod]
    public async Task AfterAFailure_NoRequestIsSentDuringTheBackoff_ThenTheAgentIsAskedAgain()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);
        bed.Server.DenyAll = true;
        await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(async () => await bed.Provider.GetTokenAsync(TestContext.CancellationToken));
        bed.Server.DenyAll = false;

        TokenAcquisitionException backedOff = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(
            async () => await bed.Provider.GetTokenAsync(TestContext.CancellationToken));
        bed.Clock.Advance(TimeSpan.FromSeconds(5));
        AccessToken token = await bed.Provider.GetTokenAsync(TestContext.CancellationToken);

        Assert.Contains("no request sent", backedOff.Message);
        Assert.AreEqual(Orders.ToString(), new JsonWebToken(token.Value).Subject);
        Assert.AreEqual(1, bed.Server.JwtSvidRequestCount);
    }

    public static IEnumerable<object[]> InvalidOptions()
    {
        yield return ["no audience", new AccessTokenOptions { Source = AccessTokenSource.JwtSvid }, "SecureComms:Clients:billing:Token:Audience is required with SecureComms:Clients:billing:Token:Source = JwtSvid"];
        yield return ["a token endpoint too", new AccessTokenOptions { Source = AccessTokenSource.JwtSvid, Audience = Audience, TokenEndpoint = new Uri("https://as.example.org/token"), ClientId = "orders" }, "remove SecureComms:Clients:billing:Token:TokenEndpoint, SecureComms:Clients:billing:Token:ClientId"];
        yield return ["token exchange", new AccessTokenOptions { Source = AccessTokenSource.JwtSvid, Audience = Audience, GrantType = TokenGrantType.TokenExchange }, "remove SecureComms:Clients:billing:Token:GrantType"];
        yield return ["a SPIFFE ID that is not one", new AccessTokenOptions { Source = AccessTokenSource.JwtSvid, Audience = Audience, SpiffeId = "orders" }, "SecureComms:Clients:billing:Token:SpiffeId 'orders' is not a SPIFFE ID"];
        yield return ["a SPIFFE ID with the token endpoint", new AccessTokenOptions { TokenEndpoint = new Uri("https://as.example.org/token"), ClientId = "orders", SpiffeId = Orders.ToString() }, "SecureComms:Clients:billing:Token:SpiffeId applies only with SecureComms:Clients:billing:Token:Source = JwtSvid"];
        yield return ["an undefined source", new AccessTokenOptions { Source = (AccessTokenSource)7, TokenEndpoint = new Uri("https://as.example.org/token"), ClientId = "orders" }, "SecureComms:Clients:billing:Token:Source must be TokenEndpoint or JwtSvid"];
    }

    [TestMethod]
    [DynamicData(nameof(InvalidOptions))]
    public void InvalidJwtSvidSettings_AreRefused_NamingTheKey(string problem, AccessTokenOptions options, string expected)
    {
        var errors = new List<string>();

        AccessTokenOptionsValidation.Validate("SecureComms:Clients:billing:Token", options, errors);

        Assert.IsTrue(errors.Any(e => e.Contains(expected, StringComparison.Ordinal)), $"{problem}: {string.Join(" | ", errors)}");
    }

    [TestMethod]
    public void JwtSvidWithAnAudience_IsValid()
    {
        var errors = new List<string>();

        AccessTokenOptionsValidation.Validate("SecureComms:Clients:billing:Token", new AccessTokenOptions { Source = AccessTokenSource.JwtSvid, Audience = Audience, SpiffeId = Orders.ToString() }, errors);

        Assert.IsEmpty(errors, string.Join(" | ", errors));
    }

    [TestMethod]
    public void JwtSvidClient_WithoutAWorkloadApiAddress_FailsStartUp_NamingTheKeyAndTheVariable()
    {
        var options = new SecureCommsOptions { HasCustomCertificateSource = true, HasCustomTrustBundleSource = true };
        options.Clients["billing"] = new SecureClientOptions
        {
            BaseAddress = new Uri("https://billing.example.org"),
            ExpectedServer = "spiffe://example.org/billing",
            Token = new AccessTokenOptions { Source = AccessTokenSource.JwtSvid, Audience = Audience },
        };

        Microsoft.Extensions.Options.ValidateOptionsResult result = new SecureCommsOptionsValidator(new WorkloadApiEnvironment(_ => null)).Validate(null, options);

        Assert.IsTrue(result.Failed);
        Assert.Contains("SecureComms:WorkloadApi:Socket is required: SecureComms:Clients:billing:Token:Source is JwtSvid", result.FailureMessage);
        Assert.Contains(WorkloadApiOptions.EndpointSocketVariable, result.FailureMessage);
    }

    [TestMethod]
    public void JwtSvidClient_WithTheAddressInTheEnvironment_IsValid()
    {
        var options = new SecureCommsOptions { HasCustomCertificateSource = true, HasCustomTrustBundleSource = true };
        options.Clients["billing"] = new SecureClientOptions
        {
            BaseAddress = new Uri("https://billing.example.org"),
            ExpectedServer = "spiffe://example.org/billing",
            Token = new AccessTokenOptions { Source = AccessTokenSource.JwtSvid, Audience = Audience },
        };

        Microsoft.Extensions.Options.ValidateOptionsResult result = new SecureCommsOptionsValidator(new WorkloadApiEnvironment(_ => "unix:///run/spire/agent.sock")).Validate(null, options);

        Assert.IsTrue(result.Succeeded, result.FailureMessage);
    }

    private sealed class CountingHandler : HttpMessageHandler
    {
        public int Requests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Requests);
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK));
        }
    }

    /// <summary>A development Workload API server and a JWT-SVID token provider on one fake clock.</summary>
    private sealed class Bed : IAsyncDisposable
    {
        private readonly DevelopmentCertificateAuthority _ca;
        private readonly InMemoryCertificateSource _certificates;
        private readonly WorkloadApiConnection _connection;

        private Bed(FakeTimeProvider clock, DevelopmentCertificateAuthority ca, DevelopmentWorkloadApiServer server, InMemoryCertificateSource certificates, WorkloadApiConnection connection, CertificateBoundTokenProvider provider, FakeLogCollector logs)
        {
            Logs = logs;
            Clock = clock;
            _ca = ca;
            Server = server;
            _certificates = certificates;
            _connection = connection;
            Provider = provider;
        }

        public FakeTimeProvider Clock { get; }

        public DevelopmentWorkloadApiServer Server { get; }

        public CertificateBoundTokenProvider Provider { get; }

        public FakeLogCollector Logs { get; }

        public static async Task<Bed> StartAsync(TestContext context, string? spiffeId = null)
        {
            var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var ca = DevelopmentCertificateAuthority.Create(Domain, clock);
            DevelopmentWorkloadApiServer server = await DevelopmentWorkloadApiServer.StartAsync(
                new DevelopmentWorkloadApiServerOptions { Authority = ca, SpiffeId = Orders, TimeProvider = clock, JwtSvidLifetime = TimeSpan.FromMinutes(5) },
                context.CancellationToken);
            var certificates = new InMemoryCertificateSource(ca.IssueSvid(Orders));
            var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.Socket));
            var options = new AccessTokenOptions { Source = AccessTokenSource.JwtSvid, Audience = Audience, SpiffeId = spiffeId };
            var logs = new FakeLogCollector();
            var requester = new JwtSvidTokenRequester("billing", options, new Uri(server.Socket), () => connection, clock, new FakeLogger(logs));
            var provider = new CertificateBoundTokenProvider("billing", options, certificates, requester, clock, new FakeLogger(logs));
            return new Bed(clock, ca, server, certificates, connection, provider, logs);
        }

        public async ValueTask DisposeAsync()
        {
            Provider.Dispose();
            _connection.Dispose();
            await Server.DisposeAsync();
            _certificates.Dispose();
            _ca.Dispose();
        }
    }
}
