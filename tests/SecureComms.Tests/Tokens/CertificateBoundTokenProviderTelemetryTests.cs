using System.Diagnostics;

namespace SecureComms.Tests.Tokens;

/// <summary>What the provider counts, spans and logs for each way a token is obtained, served or refused.</summary>
[TestClass]
public sealed class CertificateBoundTokenProviderTelemetryTests
{
    private const int RequestingEvent = 1500;
    private const int AcquiredEvent = 1501;
    private const int FailedEvent = 1502;
    private const int CacheHitEvent = 1503;

    [TestMethod]
    public async Task AFirstToken_ACacheHit_AndARenewal_AreCountedSpannedAndLogged()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        var logs = new FakeLogger();
        using var telemetry = new TokenTelemetryRecorder();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0), logs, telemetry.Metrics);

        AccessToken first = await provider.GetTokenAsync(CancellationToken.None);
        await provider.GetTokenAsync(CancellationToken.None);
        Activity[] spans = telemetry.Spans(bed.Server.TokenEndpoint);
        time.Advance(first.ExpiresAt - first.IssuedAt - TimeSpan.FromSeconds(10));
        await provider.GetTokenAsync(CancellationToken.None);
        await Eventually.WaitUntilAsync(() => telemetry.Results.Length == 4, "the renewal is counted");

        CollectionAssert.AreEqual(
            new[] { SecureCommsTelemetry.Results.Acquired, SecureCommsTelemetry.Results.CacheHit, SecureCommsTelemetry.Results.CacheHit, SecureCommsTelemetry.Results.Refreshed },
            telemetry.Results);
        Assert.HasCount(2, spans);
        foreach (Activity span in spans)
        {
            Assert.AreEqual("orders", span.GetTagItem(SecureCommsTelemetry.Tags.ClientName));
            Assert.AreEqual("127.0.0.1", span.GetTagItem(SecureCommsTelemetry.Tags.ServerAddress));
            Assert.AreEqual(bed.Server.TokenEndpoint.GetLeftPart(UriPartial.Path), span.GetTagItem("url.full"));
        }

        Assert.AreEqual(SecureCommsTelemetry.Results.Acquired, spans[0].GetTagItem(SecureCommsTelemetry.Tags.Result));
        Assert.AreEqual(SecureCommsTelemetry.Results.CacheHit, spans[1].GetTagItem(SecureCommsTelemetry.Tags.Result));
        Assert.IsTrue(logs.Contains(RequestingEvent, $"requests a token (miss) from {bed.Server.TokenEndpoint}"));
        Assert.IsTrue(logs.Contains(RequestingEvent, $"requests a token (refresh) from {bed.Server.TokenEndpoint}"));
        Assert.IsTrue(logs.Contains(AcquiredEvent, $"obtained a token bound to certificate {first.CertificateThumbprint}"));
        Assert.AreEqual(2, logs.CountOf(AcquiredEvent));
        Assert.AreEqual(0, logs.CountOf(CacheHitEvent), "the cached token is served without a log");
    }

    [TestMethod]
    public async Task WithAnAuthority_TheFirstSpanNamesTheAuthority_AndLaterOnesTheDiscoveredEndpoint()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using var telemetry = new TokenTelemetryRecorder();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.TokenEndpoint = null; o.Authority = bed.Server.Issuer; }), metrics: telemetry.Metrics);

        await provider.GetTokenAsync(CancellationToken.None);
        await provider.GetTokenAsync(CancellationToken.None);
        Activity[] spans = telemetry.Spans(bed.Server.Issuer);

        Assert.HasCount(2, spans);
        Assert.AreEqual(bed.Server.Issuer.GetLeftPart(UriPartial.Path), spans[0].GetTagItem("url.full"), "before discovery, the configured authority");
        Assert.AreEqual(new Uri(bed.Server.Issuer, "/mtls/token").ToString(), spans[1].GetTagItem("url.full"));
    }

    [TestMethod]
    public async Task ARefusedRequest_AndTheBackOffAfterIt_AreCountedSpannedAndLogged()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        var logs = new FakeLogger();
        using var telemetry = new TokenTelemetryRecorder();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.ClientId = "unknown-client"), logs, telemetry.Metrics);

        for (int i = 0; i < 2; i++)
        {
            await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());
        }

        Activity span = telemetry.Spans(bed.Server.TokenEndpoint).Single();
        CollectionAssert.AreEqual(new[] { SecureCommsTelemetry.Results.Failed, SecureCommsTelemetry.Results.BackedOff }, telemetry.Results);
        Assert.AreEqual(SecureCommsTelemetry.Results.Failed, span.GetTagItem(SecureCommsTelemetry.Tags.Result));
        Assert.AreEqual("invalid_client", span.GetTagItem(SecureCommsTelemetry.Tags.ErrorType));
        Assert.AreEqual(ActivityStatusCode.Error, span.Status);
        Assert.AreEqual(
            $"SecureComms client orders could not obtain a token from {bed.Server.TokenEndpoint}: invalid_client unknown client.",
            logs.Collector.GetSnapshot().Single(r => r.Id.Id == FailedEvent).Message);
        Assert.AreEqual(0, logs.CountOf(AcquiredEvent));
    }
}
