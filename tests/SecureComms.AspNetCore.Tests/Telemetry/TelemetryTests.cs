using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;
using Instruments = SecureComms.SecureCommsTelemetry.Instruments;
using Results = SecureComms.SecureCommsTelemetry.Results;
using Spans = SecureComms.SecureCommsTelemetry.Spans;
using Tags = SecureComms.SecureCommsTelemetry.Tags;

namespace SecureComms.AspNetCore.Tests.Telemetry;

/// <summary>
/// Real calls between real services (token server, billing API, orders and analytics clients, all on loopback with
/// mutual TLS), observed the way an OpenTelemetry SDK observes them: by listening to the <c>SecureComms</c>
/// activity source and meters. Not parallelized, so no other test's spans reach the listener.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class TelemetryTests
{
    private const string Resource = "https://billing.example.org";

    [TestMethod]
    public async Task AllowedCall_IsTracedAndCounted_OnBothSides()
    {
        await using World world = await World.StartAsync();
        using TelemetryCapture telemetry = world.Capture();

        HttpResponseMessage first = await world.Orders.GetAsync(new Uri("/invoices", UriKind.Relative));
        HttpResponseMessage second = await world.Orders.GetAsync(new Uri("/invoices", UriKind.Relative));

        Assert.AreEqual(HttpStatusCode.OK, first.StatusCode);
        Assert.AreEqual(HttpStatusCode.OK, second.StatusCode);

        // Inbound: one decision span and one counted decision per request.
        IReadOnlyList<Activity> decisions = telemetry.Spans(Spans.InboundDecision);
        Assert.HasCount(2, decisions);
        foreach (Activity decision in decisions)
        {
            Assert.AreEqual("spiffe://example.org/orders", decision.GetTagItem(Tags.PeerSpiffeId));
            Assert.AreEqual(Results.Allow, decision.GetTagItem(Tags.Decision));
            Assert.AreEqual("AllowedByRule", decision.GetTagItem(Tags.Reason));
            Assert.AreEqual("orders-reads-invoices", decision.GetTagItem(Tags.Rule));
            Assert.IsNull(decision.GetTagItem(Tags.EndUserId), "a client-credentials token speaks for no end user");
            Assert.AreEqual(ActivityStatusCode.Unset, decision.Status);
        }

        IReadOnlyList<TelemetryCapture.Measurement> counted = telemetry.Measurements(Instruments.AuthorizationDecisions);
        Assert.HasCount(2, counted);
        Assert.IsTrue(counted.All(m => m.Value == 1 && m.Has(Tags.Decision, Results.Allow) && m.Has(Tags.Reason, "AllowedByRule") && m.Tags.Count == 2), "only decision and reason: low cardinality");

        // Outbound: the server's proven identity and the negotiated TLS version.
        IReadOnlyList<Activity> outbound = telemetry.Spans(Spans.OutboundCall).Where(s => (string?)s.GetTagItem(Tags.ClientName) == "billing").ToList();
        Assert.HasCount(2, outbound);
        foreach (Activity call in outbound)
        {
            Assert.AreEqual("spiffe://example.org/billing", call.GetTagItem(Tags.PeerSpiffeId));
            Assert.AreEqual("tls", call.GetTagItem(Tags.TlsProtocolName));
            Assert.AreEqual("1.3", call.GetTagItem(Tags.TlsProtocolVersion));
            Assert.AreEqual("127.0.0.1", call.GetTagItem(Tags.ServerAddress));
            Assert.AreEqual(200, call.GetTagItem("http.response.status_code"));
        }

        // Token: acquired once from the server, then served from the cache.
        IReadOnlyList<Activity> tokens = telemetry.Spans(Spans.TokenAcquisition);
        Assert.AreSequenceEqual(new[] { Results.Acquired, Results.CacheHit }, tokens.Select(t => (string?)t.GetTagItem(Tags.Result)).ToArray(), SequenceOrder.InAnyOrder);
        Assert.IsTrue(tokens.All(t => (string?)t.GetTagItem(Tags.ServerAddress) == "127.0.0.1" && (string?)t.GetTagItem(Tags.ClientName) == "billing"));
        IReadOnlyList<TelemetryCapture.Measurement> acquisitions = telemetry.Measurements(Instruments.TokenAcquisitions);
        Assert.AreSequenceEqual(new[] { Results.Acquired, Results.CacheHit }, acquisitions.Select(m => m.Tags[Tags.Result]).ToArray(), SequenceOrder.InAnyOrder);
        TelemetryCapture.Measurement duration = telemetry.Measurements(Instruments.TokenAcquisitionDuration).Single();
        Assert.IsTrue(duration.Has(Tags.Result, Results.Acquired));
        Assert.IsGreaterThan(0d, duration.Value, "a duration");
        Assert.IsLessThan(30d, duration.Value, "in seconds, not milliseconds");
        Assert.DoesNotContain(e => e.Id.Id is 1400 or 1401, world.BillingLogs.GetSnapshot(), "allowed calls write no audit event unless asked");
    }

    [TestMethod]
    public async Task EachMainDenialReason_IsCountedTracedAndAuditedOnce()
    {
        await using World world = await World.StartAsync();
        using TelemetryCapture telemetry = world.Capture();
        AccessToken ordersToken = await world.OrdersTokenAsync();

        (string Scenario, Func<Task<HttpResponseMessage>> Call, HttpStatusCode Status, string Caller, string Reason, string? Rule)[] denials =
        [
            ("not in the policy", () => world.Analytics.GetAsync(new Uri("/invoices", UriKind.Relative)), HttpStatusCode.Forbidden, "spiffe://example.org/analytics", "NoMatchingRule", null),
            ("refused by a deny rule", () => world.Analytics.GetAsync(new Uri("/admin/users", UriKind.Relative)), HttpStatusCode.Forbidden, "spiffe://example.org/analytics", "DeniedByRule", "no-analytics-admin"),
            ("stolen token replayed", () => world.AnalyticsWithToken(ordersToken.Value).GetAsync(new Uri("/invoices", UriKind.Relative)), HttpStatusCode.Unauthorized, "spiffe://example.org/analytics", "TokenBoundToAnotherCertificate", null),
            ("no token", () => world.OrdersWithoutToken.GetAsync(new Uri("/invoices", UriKind.Relative)), HttpStatusCode.Unauthorized, "spiffe://example.org/orders", "MissingToken", null),
        ];

        foreach ((string scenario, Func<Task<HttpResponseMessage>> call, HttpStatusCode status, string caller, string reason, string? rule) in denials)
        {
            HttpResponseMessage response = await call();
            Assert.AreEqual(status, response.StatusCode, scenario);
        }

        IReadOnlyList<TelemetryCapture.Measurement> counted = telemetry.Measurements(Instruments.AuthorizationDecisions);
        IReadOnlyList<Activity> spans = telemetry.Spans(Spans.InboundDecision);
        Assert.HasCount(denials.Length, counted, "one count per request");
        Assert.HasCount(denials.Length, spans, "one span per request");
        foreach ((string scenario, _, HttpStatusCode status, string caller, string reason, string? rule) in denials)
        {
            Assert.ContainsSingle(m => m.Has(Tags.Decision, Results.Deny) && m.Has(Tags.Reason, reason), counted, scenario);
            Activity span = spans.Single(s => (string?)s.GetTagItem(Tags.Reason) == reason);
            Assert.AreEqual(Results.Deny, span.GetTagItem(Tags.Decision), scenario);
            Assert.AreEqual(caller, span.GetTagItem(Tags.PeerSpiffeId), scenario);
            Assert.AreEqual(rule, span.GetTagItem(Tags.Rule), scenario);
            Assert.AreEqual(ActivityStatusCode.Error, span.Status, scenario);

            string route = scenario == "refused by a deny rule" ? "/admin/{page}" : "/invoices";
            string audit = $"SecureComms denied {caller} (user (none)) GET {route}: {reason}, rule {rule ?? "(none)"} ({(int)status})";
            Assert.ContainsSingle(e => e.Id.Id == 1400 && e.Message == audit, world.BillingLogs.GetSnapshot(), $"{scenario}: exactly one audit event '{audit}'");
        }

        Assert.AreEqual(denials.Length, world.BillingLogs.GetSnapshot().Count(e => e.Id.Id == 1400), "one audit event per denial, no more");
    }

    [TestMethod]
    public async Task EndpointRulesAndCentralRules_ReportOneVocabulary()
    {
        await using World world = await World.StartAsync();
        using TelemetryCapture telemetry = world.Capture();

        (string Scenario, HttpClient Client, string Path, string Decision, string Reason, string? Rule)[] calls =
        [
            ("RequireCaller names the caller", world.Orders, "/ledger", Results.Allow, "AllowedByRule", "RequireCaller"),
            ("RequireCaller does not name the caller", world.Analytics, "/ledger", Results.Deny, "NoMatchingRule", "RequireCaller"),
            ("a central rule allows the caller", world.Orders, "/invoices", Results.Allow, "AllowedByRule", "orders-reads-invoices"),
            ("no central rule allows the caller", world.Analytics, "/invoices", Results.Deny, "NoMatchingRule", null),
        ];

        foreach ((string scenario, HttpClient client, string path, string decision, string reason, string? rule) in calls)
        {
            using var _ = await client.GetAsync(new Uri(path, UriKind.Relative));
            Activity span = telemetry.Spans(Spans.InboundDecision)[^1];
            Assert.AreEqual(decision, span.GetTagItem(Tags.Decision), scenario);
            Assert.AreEqual(reason, span.GetTagItem(Tags.Reason), scenario);
            Assert.AreEqual(rule, span.GetTagItem(Tags.Rule), scenario);
        }

        string[] reasons = [.. telemetry.Measurements(Instruments.AuthorizationDecisions).Select(m => m.Tags[Tags.Reason]!).Distinct().Order(StringComparer.Ordinal)];
        Assert.AreSequenceEqual(new[] { "AllowedByRule", "NoMatchingRule" }, reasons, "two reasons for four calls: dashboards group endpoint and central rules together");
    }

    [TestMethod]
    public async Task AllowedRequests_AreAudited_WhenAsked()
    {
        await using World world = await World.StartAsync(logAllowed: true);

        HttpResponseMessage response = await world.Orders.GetAsync(new Uri("/invoices", UriKind.Relative));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(
            e => e.Id.Id == 1401 && e.Level == LogLevel.Information
                && e.Message == "SecureComms allowed spiffe://example.org/orders (user (none)) GET /invoices: AllowedByRule, rule orders-reads-invoices",
            world.BillingLogs.GetSnapshot());
    }

    [TestMethod]
    public async Task RefusedHandshakes_AreCountedByReasonAndSide()
    {
        await using World world = await World.StartAsync();
        using TelemetryCapture telemetry = world.Capture();

        await HandshakeAsync(world.BillingAddress, clientCertificate: null);
        await HandshakeAsync(world.BillingAddress, TestPki.RogueCa.IssueSvid(TestPki.Orders).Certificate);
        await Assert.ThrowsExactlyAsync<HttpRequestException>(() => world.OrdersToWrongServer.GetAsync(new Uri("/invoices", UriKind.Relative)));

        IReadOnlyList<TelemetryCapture.Measurement> failures = telemetry.Measurements(Instruments.PeerCertificateFailures);
        Assert.ContainsSingle(m => m.Has(Tags.Reason, "NoCertificate") && m.Has(Tags.PeerSide, "client"), failures, Describe(failures));
        Assert.ContainsSingle(m => m.Has(Tags.Reason, "UntrustedRoot") && m.Has(Tags.PeerSide, "client"), failures, Describe(failures));
        Assert.ContainsSingle(m => m.Has(Tags.Reason, "UnexpectedSpiffeId") && m.Has(Tags.PeerSide, "server"), failures, Describe(failures));
        Assert.HasCount(3, failures, Describe(failures));
        Assert.IsTrue(failures.All(m => m.Tags.Count == 2), "only reason and side: no thumbprint, no SPIFFE ID");
        Assert.IsEmpty(telemetry.Spans(Spans.InboundDecision), "a refused handshake never reaches a request");
    }

    [TestMethod]
    public async Task FailedTokenAcquisition_IsTracedAsAnErrorAndCounted()
    {
        await using World world = await World.StartAsync();
        using TelemetryCapture telemetry = world.Capture();
        world.TokenServer.EnqueueFailures(10, HttpStatusCode.ServiceUnavailable);

        TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => world.Orders.GetAsync(new Uri("/invoices", UriKind.Relative)));

        Activity span = telemetry.Spans(Spans.TokenAcquisition).Single();
        Assert.AreEqual(Results.Failed, span.GetTagItem(Tags.Result));
        Assert.AreEqual(error.Error, span.GetTagItem(Tags.ErrorType));
        Assert.AreEqual(ActivityStatusCode.Error, span.Status);
        TelemetryCapture.Measurement counted = telemetry.Measurements(Instruments.TokenAcquisitions).Single();
        Assert.IsTrue(counted.Has(Tags.Result, Results.Failed) && counted.Has(Tags.ClientName, "billing"));
        Assert.IsTrue(telemetry.Measurements(Instruments.TokenAcquisitionDuration).Single().Has(Tags.Result, Results.Failed));
        Assert.DoesNotContain(s => (string?)s.GetTagItem(Tags.ClientName) == "billing", telemetry.Spans(Spans.OutboundCall), "failed closed: no call left for billing");
        Assert.IsEmpty(telemetry.Measurements(Instruments.AuthorizationDecisions), "billing never saw a request");
    }

    [TestMethod]
    public async Task Rotation_IsCounted_AndExpiryGaugesReportTheCertificateAndEachBundle()
    {
        await using World world = await World.StartAsync();
        using TelemetryCapture telemetry = world.Capture();
        WorkloadCertificate rotated = TestPki.Issue(TestPki.Orders);

        world.OrdersCertificate.Update(rotated);
        HttpResponseMessage response = await world.Orders.GetAsync(new Uri("/invoices", UriKind.Relative));
        telemetry.CollectObservables();

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, "calls keep succeeding after the rotation");
        TelemetryCapture.Measurement rotation = telemetry.Measurements(Instruments.CertificateRotations).Single();
        Assert.IsTrue(rotation.Has(Tags.Result, Results.Success));

        // One expiry value per service provider (orders, analytics, billing): each its own certificate.
        IReadOnlyList<TelemetryCapture.Measurement> expiry = telemetry.Measurements(Instruments.CertificateTimeToExpiry);
        Assert.HasCount(3, expiry);
        double ordersLeft = (rotated.NotAfter - DateTimeOffset.UtcNow).TotalSeconds;
        Assert.IsTrue(expiry.Any(m => Math.Abs(m.Value - ordersLeft) < 60), $"orders' rotated certificate has {ordersLeft:F0} s left: {string.Join(", ", expiry.Select(m => m.Value))}");

        IReadOnlyList<TelemetryCapture.Measurement> bundles = telemetry.Measurements(Instruments.TrustBundleTimeToExpiry);
        Assert.HasCount(3, bundles);
        double caLeft = (TestPki.Ca.Certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow).TotalSeconds;
        Assert.IsTrue(bundles.All(m => m.Has(Tags.TrustDomain, "example.org") && Math.Abs(m.Value - caLeft) < 60), string.Join(", ", bundles.Select(m => m.Value)));
    }

    [TestMethod]
    public async Task NoLogLineOrSpanAttribute_CarriesTheTokenOrAPrivateKey()
    {
        await using World world = await World.StartAsync(logAllowed: true);
        using TelemetryCapture telemetry = world.Capture();
        AccessToken ordersToken = await world.OrdersTokenAsync();

        await world.Orders.GetAsync(new Uri("/invoices", UriKind.Relative));
        await world.AnalyticsWithToken(ordersToken.Value).GetAsync(new Uri("/invoices", UriKind.Relative));
        await world.Analytics.GetAsync(new Uri("/invoices", UriKind.Relative));
        world.TokenServer.EnqueueFailures(10, HttpStatusCode.BadGateway);
        world.OrdersCertificate.Update(TestPki.Issue(TestPki.Orders));
        world.InvalidateOrdersToken(ordersToken); // no previous pair to carry on with (make before break): the call needs the new token
        await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => world.Orders.GetAsync(new Uri("/invoices", UriKind.Relative)));

        string signature = ordersToken.Value.Split('.')[2];
        string[] secrets =
        [
            ordersToken.Value,
            signature,
            Convert.ToBase64String(world.OrdersCertificate.Current.Certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKey()),
            Convert.ToBase64String(world.OrdersCertificate.Current.Certificate.GetECDsaPrivateKey()!.ExportParameters(true).D!),
        ];
        string everything = string.Join(
            "\n",
            world.BillingLogs.GetSnapshot().Select(e => e.Message)
                .Concat(world.ClientLogs.GetSnapshot().Select(e => e.Message))
                .Concat(telemetry.AllSpanText()));
        Assert.IsGreaterThan(20, everything.Length / 80, "there is plenty of telemetry to search");
        foreach (string secret in secrets)
        {
            Assert.DoesNotContain(secret, everything, "no log line or span attribute carries a token, a signature or a key");
        }
    }

    private static string Describe(IEnumerable<TelemetryCapture.Measurement> measurements) =>
        string.Join("; ", measurements.Select(m => string.Join(",", m.Tags.Select(t => $"{t.Key}={t.Value}"))));

    /// <summary>One TLS handshake with a raw <see cref="SslStream"/>, then a read: the server's refusal arrives either way.</summary>
    private static async Task HandshakeAsync(Uri server, X509Certificate2? clientCertificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "billing",
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = TestClients.ServerTrustedByTestCa,
            });
            await tls.WriteAsync("GET /invoices HTTP/1.1\r\nHost: billing\r\n\r\n"u8.ToArray());
            int read = await tls.ReadAsync(new byte[1]);
            Assert.AreEqual(0, read, "the server closed the refused connection");
        }
        catch (AuthenticationException)
        {
            // refused during the handshake
        }
        catch (IOException)
        {
            // refused right after it (TLS 1.3 checks the client certificate after the client's Finished)
        }
    }

    /// <summary>A token server, a billing API behind a central policy, and orders and analytics clients; all real.</summary>
    private sealed class World : IAsyncDisposable
    {
        private readonly SecureServiceHost _billing;
        private readonly ServiceProvider _orders;
        private readonly ServiceProvider _analytics;
        private readonly List<HttpClient> _raw = [];

        private World(DevelopmentTokenServer tokenServer, SecureServiceHost billing, ServiceProvider orders, ServiceProvider analytics, InMemoryCertificateSource ordersCertificate, InMemoryCertificateSource analyticsCertificate, FakeLogCollector clientLogs)
        {
            TokenServer = tokenServer;
            _billing = billing;
            _orders = orders;
            _analytics = analytics;
            OrdersCertificate = ordersCertificate;
            AnalyticsCertificate = analyticsCertificate;
            ClientLogs = clientLogs;
        }

        public DevelopmentTokenServer TokenServer { get; }

        public InMemoryCertificateSource OrdersCertificate { get; }

        public InMemoryCertificateSource AnalyticsCertificate { get; }

        public FakeLogCollector BillingLogs => _billing.Logs;

        public FakeLogCollector ClientLogs { get; }

        public Uri BillingAddress => _billing.BaseAddress;

        public HttpClient Orders => Client(_orders, "billing");

        public HttpClient OrdersWithoutToken => Client(_orders, "billing-without-token");

        public HttpClient OrdersToWrongServer => Client(_orders, "wrong-server");

        public HttpClient Analytics => Client(_analytics, "billing");

        public static async Task<World> StartAsync(bool logAllowed = false)
        {
            DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
            {
                ServerCertificate = TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server")),
                ClientTrust = TestPki.Ca.CreateTrustBundle(),
                Clients =
                [
                    new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TestPki.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [Resource] },
                    new DevelopmentClient { ClientId = "analytics", TlsClientAuthSanUri = TestPki.Analytics, AllowedScopes = ["invoices.read"], AllowedResources = [Resource] },
                ],
            });
            SecureServiceHost billing = await SecureServiceHost.StartAsync(
                app =>
                {
                    app.MapGet("/invoices", () => "invoices");
                    app.MapGet("/admin/{page}", (string page) => page);
                    app.MapGet("/ledger", () => "ledger").RequireCaller("spiffe://example.org/orders");
                },
                new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
                TestPki.Bundles(),
                new Dictionary<string, string?>
                {
                    ["SecureComms:TokenValidation:Authority"] = tokenServer.Issuer.ToString(),
                    ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                    ["SecureComms:TokenValidation:Audience"] = Resource,
                    ["SecureComms:Authorization:LogAllowedRequests"] = logAllowed ? "true" : "false",
                    ["SecureComms:Authorization:Rules:0:Name"] = "orders-reads-invoices",
                    ["SecureComms:Authorization:Rules:0:Callers:0"] = "spiffe://example.org/orders",
                    ["SecureComms:Authorization:Rules:0:Paths:0"] = "/invoices",
                    ["SecureComms:Authorization:Rules:0:Methods:0"] = "GET",
                    ["SecureComms:Authorization:Rules:1:Name"] = "no-analytics-admin",
                    ["SecureComms:Authorization:Rules:1:Action"] = "Deny",
                    ["SecureComms:Authorization:Rules:1:Callers:0"] = "spiffe://example.org/analytics",
                    ["SecureComms:Authorization:Rules:1:Paths:0"] = "/admin/*",
                });
            var clientLogs = new FakeLogCollector();
            var ordersCertificate = new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders));
            var analyticsCertificate = new InMemoryCertificateSource(TestPki.Issue(TestPki.Analytics));
            ServiceProvider orders = await ClientAsync("orders", ordersCertificate, tokenServer, billing.BaseAddress, clientLogs);
            ServiceProvider analytics = await ClientAsync("analytics", analyticsCertificate, tokenServer, billing.BaseAddress, clientLogs);
            return new World(tokenServer, billing, orders, analytics, ordersCertificate, analyticsCertificate, clientLogs);
        }

        public TelemetryCapture Capture() => new(Meter(_billing.App.Services), Meter(_orders), Meter(_analytics));

        public ValueTask<AccessToken> OrdersTokenAsync() =>
            _orders.GetRequiredService<TokenProviderRegistry>().GetProvider("billing")!.GetTokenAsync(CancellationToken.None);

        public void InvalidateOrdersToken(AccessToken token) =>
            _orders.GetRequiredService<TokenProviderRegistry>().GetProvider("billing")!.Invalidate(token);

        /// <summary>Analytics' own certificate, with a bearer token of someone else's.</summary>
        public HttpClient AnalyticsWithToken(string token)
        {
            HttpClient client = TestClients.RawClient(AnalyticsCertificate.Current.Certificate);
            client.BaseAddress = BillingAddress;
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            _raw.Add(client);
            return client;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (HttpClient client in _raw)
            {
                client.Dispose();
            }

            await _orders.DisposeAsync();
            await _analytics.DisposeAsync();
            await _billing.DisposeAsync();
            await TokenServer.DisposeAsync();
        }

        private static System.Diagnostics.Metrics.Meter Meter(IServiceProvider services) => services.GetRequiredService<SecureCommsMetrics>().Meter;

        private static HttpClient Client(ServiceProvider services, string name) => services.GetRequiredService<IHttpClientFactory>().CreateClient(name);

        private static async Task<ServiceProvider> ClientAsync(string clientId, InMemoryCertificateSource certificate, DevelopmentTokenServer tokenServer, Uri billing, FakeLogCollector logs)
        {
            IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["SecureComms:Clients:billing:BaseAddress"] = billing.ToString(),
                ["SecureComms:Clients:billing:ExpectedServer"] = "spiffe://example.org/billing",
                ["SecureComms:Clients:billing:Token:Authority"] = tokenServer.Issuer.ToString(),
                ["SecureComms:Clients:billing:Token:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:Clients:billing:Token:ClientId"] = clientId,
                ["SecureComms:Clients:billing:Token:Scope"] = "invoices.read",
                ["SecureComms:Clients:billing:Token:Resource"] = Resource,
                ["SecureComms:Clients:billing:Token:MaxRetries"] = "1",
                ["SecureComms:Clients:billing:Token:RetryBaseDelay"] = "00:00:00.010",
                ["SecureComms:Clients:billing-without-token:BaseAddress"] = billing.ToString(),
                ["SecureComms:Clients:billing-without-token:ExpectedServer"] = "spiffe://example.org/billing",
                ["SecureComms:Clients:wrong-server:BaseAddress"] = billing.ToString(),
                ["SecureComms:Clients:wrong-server:ExpectedServer"] = "spiffe://example.org/payments",
            }).Build();
            var services = new ServiceCollection().AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace));
            services.AddSecureCommsCore(configuration).UseCertificateSource(certificate).UseTrustBundleSource(TestPki.Bundles());
            ServiceProvider provider = services.BuildServiceProvider();
            foreach (Microsoft.Extensions.Hosting.IHostedService hosted in provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>())
            {
                await hosted.StartAsync(CancellationToken.None); // what the generic host does: start-up checks, certificate telemetry
            }

            return provider;
        }
    }
}
