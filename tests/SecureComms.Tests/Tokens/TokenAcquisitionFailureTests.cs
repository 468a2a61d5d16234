using System.Diagnostics;
using System.Net;
using SecureComms.Testing;

namespace SecureComms.Tests.Tokens;

/// <summary>
/// How token acquisition fails, against a real token server: discovery inside the single flight and the resilience
/// pipeline with the TLS reason in the error, a back-off after failures instead of a request per call, and a granted
/// scope narrower than the requested one refused.
/// </summary>
[TestClass]
public sealed class TokenAcquisitionFailureTests
{
    private const int UnexpectedServerEvent = 1301;
    private const int TokenFailedEvent = 1502;
    private const int ScopeNotGrantedEvent = 1505;

    [TestMethod]
    public async Task DiscoveryRefusedByTls_TwoHundredConcurrentCallers_ShareOneDiscovery_RetriedByThePipeline()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        var logs = new FakeLogger();
        using CertificateBoundTokenProvider provider = bed.Provider(
            bed.Options(o =>
            {
                o.TokenEndpoint = null;
                o.Authority = bed.Server.Issuer;
                o.ExpectedServer = "spiffe://example.org/not-the-token-server";
                o.MaxRetries = 2;
            }),
            logs);

        TokenAcquisitionException[] errors = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() =>
            Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask()))));

        Assert.AreEqual(3, logs.CountOf(UnexpectedServerEvent), "one discovery for 200 callers: an attempt and two retries, each a refused TLS handshake");
        Assert.AreEqual(1, logs.CountOf(TokenFailedEvent), "one failure, logged once");
        Assert.IsTrue(errors.All(e => e.Error == "discovery_failed"), string.Join(", ", errors.Select(e => e.Error).Distinct()));
        Assert.IsTrue(errors.All(e => e.Message.Contains("SecureConnectionError: UnexpectedSpiffeId (the server is spiffe://example.org/token-server", StringComparison.Ordinal)), errors[0].Message);
        Assert.AreEqual(0, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public async Task DiscoveryRefusedByTls_InWebPkiMode_IsLogged_Counted_AndSpanned_WithTheTlsReasonInTheMessage()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        var logs = new FakeLogger();
        using var telemetry = new TokenTelemetryRecorder();

        // No ExpectedServer: the platform's checks (system trust store, host name), which do not know the test CA.
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.TokenEndpoint = null; o.Authority = bed.Server.Issuer; o.ExpectedServer = null; o.MaxRetries = 0; }), logs, telemetry.Metrics);

        TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());

        Assert.AreEqual("discovery_failed", error.Error);
        Assert.Contains("SecureConnectionError: ", error.Message);
        Assert.Contains("RemoteCertificateChainErrors (", error.Message);
        Assert.Contains("RemoteCertificateNameMismatch", error.Message, "an SVID names no host");
        Assert.IsTrue(logs.Contains(TokenFailedEvent, "discovery_failed"), "the failure is logged like a failed token request");
        Assert.IsTrue(logs.Contains(TokenFailedEvent, "RemoteCertificateChainErrors"), "with its reason");
        Assert.Contains(SecureCommsTelemetry.Results.Failed, telemetry.Results);
        Activity span = telemetry.Spans(bed.Server.Issuer).Single();
        Assert.AreEqual(ActivityStatusCode.Error, span.Status);
        Assert.AreEqual("discovery_failed", span.GetTagItem(SecureCommsTelemetry.Tags.ErrorType));
    }

    [TestMethod]
    public async Task InvalidClient_FortySixSequentialCalls_SendOneRequest_AndTheBackOffDoublesAfterEachFailure()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.ClientId = "unknown-client"));
        var errors = new List<TokenAcquisitionException>();

        for (int i = 0; i < 46; i++)
        {
            errors.Add(await FailsAsync(provider));
        }

        int afterBurst = bed.Server.TokenRequestCount;
        time.Advance(TimeSpan.FromSeconds(5)); // the first pause (FailureBackoff) is over
        await FailsAsync(provider);
        int afterFirstPause = bed.Server.TokenRequestCount;
        time.Advance(TimeSpan.FromSeconds(5)); // half of the second, doubled pause
        await FailsAsync(provider);
        int withinSecondPause = bed.Server.TokenRequestCount;
        time.Advance(TimeSpan.FromSeconds(5));
        await FailsAsync(provider);

        Assert.AreEqual(1, afterBurst, "46 calls, one request: the others fail at once");
        Assert.IsTrue(errors.All(e => e.Error == "invalid_client"), "each call gets the server's error");
        Assert.Contains("unknown client.", errors[45].Message);
        Assert.Contains("[no request sent: 1 consecutive failure(s), next attempt after ", errors[45].Message);
        Assert.IsInstanceOfType<TokenAcquisitionException>(errors[45].InnerException, "the failure the back-off repeats");
        Assert.AreEqual(2, afterFirstPause);
        Assert.AreEqual(2, withinSecondPause, "the second pause is 10 s");
        Assert.AreEqual(3, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public async Task DuringTheBackOff_ARotatedCertificate_IsTriedAtOnce_AndASuccessEndsTheBackOff()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0));
        bed.Server.EnqueueFailures(1, HttpStatusCode.ServiceUnavailable);
        TokenAcquisitionException first = await FailsAsync(provider);
        TokenAcquisitionException backedOff = await FailsAsync(provider);

        bed.Certificates.Update(bed.Ca.IssueSvid(TokenTestBed.Orders));
        AccessToken afterRotation = await provider.GetTokenAsync(CancellationToken.None);
        provider.Invalidate(afterRotation);
        AccessToken afterInvalidation = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreEqual("server_unavailable", first.Error);
        Assert.AreEqual("server_unavailable", backedOff.Error);
        Assert.Contains("no request sent", backedOff.Message);
        Assert.AreNotSame(afterRotation, afterInvalidation, "no back-off after a success");
        Assert.AreEqual(3, bed.Server.TokenRequestCount, "the failure, then one request per new token");
    }

    [TestMethod]
    public async Task BackOffTurnedOff_EveryCallAsksTheServer()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.ClientId = "unknown-client"; o.FailureBackoff = TimeSpan.Zero; }));

        for (int i = 0; i < 3; i++)
        {
            await FailsAsync(provider);
        }

        Assert.AreEqual(3, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public async Task ServerDroppingARequestedScope_IsRefusedWithScopeNotGranted_NamingTheMissingScope()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync(clients: DroppingUnknownScopes);
        var logs = new FakeLogger();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.Scope = "invoices.read invoices.delete"), logs);

        TokenAcquisitionException error = await FailsAsync(provider);

        Assert.AreEqual("scope_not_granted", error.Error);
        Assert.Contains("the server granted 'invoices.read' but not 'invoices.delete' of the requested 'invoices.read invoices.delete'", error.Message);
        Assert.Contains("Token:ScopeMismatch", error.Message);
        Assert.IsTrue(logs.Contains(TokenFailedEvent, "scope_not_granted"));
        Assert.AreEqual(1, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public async Task ScopeMismatchWarn_UsesTheNarrowerToken_AndLogsAWarning()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync(clients: DroppingUnknownScopes);
        var logs = new FakeLogger();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.Scope = "invoices.read invoices.delete"; o.ScopeMismatch = TokenScopeMismatch.Warn; }), logs);

        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreEqual("invoices.read", token.Scope);
        Assert.IsTrue(logs.Contains(ScopeNotGrantedEvent, "was not granted scope 'invoices.delete'"));
    }

    [TestMethod]
    [DataRow("invoices.read", DisplayName = "the scope asked for")]
    [DataRow("invoices.write invoices.read", DisplayName = "two scopes, granted in another order")]
    public async Task GrantedScope_ContainingEveryRequestedScope_IsAccepted(string scope)
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync(clients: DroppingUnknownScopes);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.Scope = scope));

        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);

        Assert.IsNotNull(token.Scope);
    }

    private static IList<DevelopmentClient> DroppingUnknownScopes(DevelopmentCertificateAuthority ca, WorkloadCertificate orders) =>
    [
        new DevelopmentClient
        {
            ClientId = "orders",
            TlsClientAuthSanUri = TokenTestBed.Orders,
            AllowedScopes = ["invoices.read", "invoices.write"],
            AllowedResources = [TokenTestBed.Billing.OriginalString],
            DropsUnknownScopes = true,
        },
    ];

    private static Task<TokenAcquisitionException> FailsAsync(CertificateBoundTokenProvider provider) =>
        Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());
}
