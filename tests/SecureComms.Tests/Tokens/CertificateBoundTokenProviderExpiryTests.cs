using System.Globalization;
using System.Net;
using SecureComms.Testing;

namespace SecureComms.Tests.Tokens;

/// <summary>
/// The provider's instants, each pinned to the tick with a fake clock against a real token server: when a renewal starts,
/// when a token stops being served, when the failure back-off ends and how it grows, and when the previous certificate's
/// token stops carrying on after a rotation.
/// </summary>
[TestClass]
public sealed class CertificateBoundTokenProviderExpiryTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    /// <summary>How long a renewal that was started takes at most to reach the server on a busy machine.</summary>
    private static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(300);

    [TestMethod]
    [DataRow(5, 30, DisplayName = "5-minute token: a tenth of its lifetime, 30 s")]
    [DataRow(20, 60, DisplayName = "20-minute token: at most 60 s")]
    public async Task RenewalStarts_ExactlyAtTheRefreshInstant_NotATickBefore(int lifetimeMinutes, int refreshSecondsBeforeExpiry)
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time, tokenLifetime: TimeSpan.FromMinutes(lifetimeMinutes));
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0));
        AccessToken first = await provider.GetTokenAsync(CancellationToken.None);
        DateTimeOffset refreshAt = first.ExpiresAt - TimeSpan.FromSeconds(refreshSecondsBeforeExpiry);

        AdvanceTo(time, refreshAt - Tick);
        AccessToken beforeTheInstant = await provider.GetTokenAsync(CancellationToken.None);
        await Task.Delay(SettleTime);
        int requestsBeforeTheInstant = bed.Server.TokenRequestCount;
        time.Advance(Tick);
        AccessToken atTheInstant = await provider.GetTokenAsync(CancellationToken.None);
        await Eventually.WaitUntilAsync(() => bed.Server.TokenRequestCount == 2, "the renewal at the refresh instant reaches the server");
        AccessToken renewed = await WaitForNewTokenAsync(provider, first);

        Assert.AreEqual(TimeSpan.FromMinutes(lifetimeMinutes), first.ExpiresAt - first.IssuedAt);
        Assert.AreSame(first, beforeTheInstant);
        Assert.AreEqual(1, requestsBeforeTheInstant, "a tick before the refresh instant no renewal is sent");
        Assert.AreSame(first, atTheInstant, "the still-valid token is served while the renewal runs");
        Assert.AreEqual(time.GetUtcNow(), renewed.IssuedAt);
    }

    [TestMethod]
    public async Task ARefreshMarginLongerThanTheTokensLifetime_RenewsAtHalfTheLifetime_NotOnEveryCall()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time); // 5-minute tokens
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.MaxRetries = 0; o.RefreshBeforeExpiry = TimeSpan.FromMinutes(10); }));
        AccessToken first = await provider.GetTokenAsync(CancellationToken.None);

        AccessToken again = await provider.GetTokenAsync(CancellationToken.None);
        AdvanceTo(time, first.IssuedAt + ((first.ExpiresAt - first.IssuedAt) / 2) - Tick);
        AccessToken beforeHalfLife = await provider.GetTokenAsync(CancellationToken.None);
        await Task.Delay(SettleTime);
        int requestsBeforeHalfLife = bed.Server.TokenRequestCount;
        time.Advance(Tick);
        AccessToken atHalfLife = await provider.GetTokenAsync(CancellationToken.None);
        await Eventually.WaitUntilAsync(() => bed.Server.TokenRequestCount == 2, "the renewal at half the lifetime reaches the server");

        Assert.AreSame(first, again);
        Assert.AreSame(first, beforeHalfLife);
        Assert.AreEqual(1, requestsBeforeHalfLife, "a token the server made shorter than the margin is not renewed on every call");
        Assert.AreSame(first, atHalfLife);
    }

    [TestMethod]
    public async Task ATokenIsNeverServedAtItsExpiryInstant_TheCallerWaitsForANewOne()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0));
        AccessToken first = await provider.GetTokenAsync(CancellationToken.None);

        AdvanceTo(time, first.ExpiresAt);
        AccessToken atExpiry = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreNotSame(first, atExpiry);
        Assert.AreEqual(first.ExpiresAt, atExpiry.IssuedAt);
        Assert.AreEqual(2, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public async Task ServerFailingDuringTheRenewal_TheTokenIsServedUpToItsLastTick_ThenTheBackOffFailsClosed()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using var telemetry = new TokenTelemetryRecorder();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.MaxRetries = 0; o.FailureBackoff = TimeSpan.FromMinutes(1); }), metrics: telemetry.Metrics);
        AccessToken first = await provider.GetTokenAsync(CancellationToken.None);
        bed.Server.EnqueueFailures(1, HttpStatusCode.ServiceUnavailable);

        AdvanceTo(time, first.ExpiresAt - TimeSpan.FromSeconds(10));
        AccessToken inTheWindow = await provider.GetTokenAsync(CancellationToken.None);
        await Eventually.WaitUntilAsync(() => provider.Status.LastFailure is not null, "the renewal fails");
        AdvanceTo(time, first.ExpiresAt - Tick);
        AccessToken lastTick = await provider.GetTokenAsync(CancellationToken.None);
        string?[] resultsBeforeExpiry = telemetry.Results;
        time.Advance(Tick);
        TokenAcquisitionException atExpiry = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());

        Assert.AreSame(first, inTheWindow);
        Assert.AreSame(first, lastTick, "still valid during the back-off");
        Assert.AreEqual("server_unavailable", atExpiry.Error);
        Assert.Contains("[no request sent: 1 consecutive failure(s)", atExpiry.Message);
        Assert.AreEqual(2, bed.Server.TokenRequestCount, "the token, the failed renewal");
        CollectionAssert.AreEqual(
            new[] { SecureCommsTelemetry.Results.Acquired, SecureCommsTelemetry.Results.CacheHit, SecureCommsTelemetry.Results.Failed, SecureCommsTelemetry.Results.CacheHit },
            resultsBeforeExpiry);
        Assert.AreEqual(SecureCommsTelemetry.Results.BackedOff, telemetry.Results[^1]);
    }

    [TestMethod]
    public async Task TheBackOffEnds_ExactlyAtItsInstant_AndRepeatsTheLastFailureUntilThen()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        var logs = new FakeLogger();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.ClientId = "unknown-client"), logs);
        DateTimeOffset failedAt = time.GetUtcNow();

        TokenAcquisitionException failure = await FailsAsync(provider);
        AdvanceTo(time, failedAt + TimeSpan.FromSeconds(5) - Tick);
        TokenAcquisitionException backedOff = await FailsAsync(provider);
        int requestsDuringTheBackOff = bed.Server.TokenRequestCount;
        time.Advance(Tick);
        TokenAcquisitionException afterTheBackOff = await FailsAsync(provider);

        Assert.AreEqual(1, requestsDuringTheBackOff);
        Assert.AreEqual("invalid_client", backedOff.Error);
        Assert.AreEqual(
            $"unknown client. [no request sent: 1 consecutive failure(s), next attempt after {Round(failedAt + TimeSpan.FromSeconds(5))}]",
            backedOff.ErrorDescription);
        Assert.AreEqual(bed.Server.TokenEndpoint, backedOff.TokenEndpoint);
        Assert.AreSame(failure, backedOff.InnerException, "the failure the back-off repeats");
        Assert.IsTrue(logs.Contains(1506, "backing off until"), "the back-off is logged");
        Assert.AreEqual(2, bed.Server.TokenRequestCount, "at the back-off instant a request is sent again");
        Assert.AreEqual("unknown client.", afterTheBackOff.ErrorDescription);
    }

    [TestMethod]
    [DataRow(5, 60, new[] { 5, 10, 20, 40, 60, 60 }, DisplayName = "5 s doubled up to 1 minute")]
    [DataRow(5, 12, new[] { 5, 10, 12, 12 }, DisplayName = "a maximum that is no doubling of the first pause")]
    [DataRow(10, 3, new[] { 10, 10, 10 }, DisplayName = "a maximum below the first pause (refused by the options validation): the first pause")]
    public async Task TheBackOff_DoublesFromFailureBackoff_UpToMaxFailureBackoff(int firstSeconds, int maxSeconds, int[] expectedPauses)
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o =>
        {
            o.ClientId = "unknown-client";
            o.FailureBackoff = TimeSpan.FromSeconds(firstSeconds);
            o.MaxFailureBackoff = TimeSpan.FromSeconds(maxSeconds);
        }));
        var failedAt = new List<DateTimeOffset>();
        var descriptions = new List<string?>();

        foreach (int pause in expectedPauses)
        {
            failedAt.Add(time.GetUtcNow());
            await FailsAsync(provider);
            descriptions.Add((await FailsAsync(provider)).ErrorDescription);
            time.Advance(TimeSpan.FromSeconds(pause));
        }

        for (int i = 0; i < expectedPauses.Length; i++)
        {
            Assert.EndsWith(
                $"[no request sent: {i + 1} consecutive failure(s), next attempt after {Round(failedAt[i] + TimeSpan.FromSeconds(expectedPauses[i]))}]",
                descriptions[i]!,
                $"failure {i + 1}");
        }

        Assert.AreEqual(expectedPauses.Length, bed.Server.TokenRequestCount, "one request per pause");
    }

    [TestMethod]
    public async Task ASuccess_EndsTheBackOff_AndTheNextFailureStartsAgainFromTheFirstPause()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0));
        bed.Server.EnqueueFailures(1, HttpStatusCode.ServiceUnavailable);
        await FailsAsync(provider);
        CertificateBoundTokenProvider.TokenAcquisitionStatus afterFailure = provider.Status;

        time.Advance(TimeSpan.FromSeconds(5));
        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);
        CertificateBoundTokenProvider.TokenAcquisitionStatus afterSuccess = provider.Status;
        provider.Invalidate(token);
        bed.Server.EnqueueFailures(1, HttpStatusCode.ServiceUnavailable);
        DateTimeOffset failedAgainAt = time.GetUtcNow();
        await FailsAsync(provider);
        TokenAcquisitionException backedOff = await FailsAsync(provider);

        Assert.IsNull(afterFailure.LastSuccess);
        Assert.AreEqual("server_unavailable", afterFailure.LastError);
        Assert.AreEqual(new CertificateBoundTokenProvider.TokenAcquisitionStatus(failedAgainAt, null, null, token.ExpiresAt), afterSuccess, "a success clears the last failure");
        Assert.AreEqual(new CertificateBoundTokenProvider.TokenAcquisitionStatus(failedAgainAt, failedAgainAt, "server_unavailable", token.ExpiresAt), provider.Status, "a failure keeps the last success");
        Assert.EndsWith($"[no request sent: 1 consecutive failure(s), next attempt after {Round(failedAgainAt + TimeSpan.FromSeconds(5))}]", backedOff.ErrorDescription!);
        Assert.AreEqual(3, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public async Task ARotationAtThePreviousTokensExpiryInstant_WaitsForTheNewToken()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0));
        AccessToken before = await provider.GetTokenAsync(CancellationToken.None);

        AdvanceTo(time, before.ExpiresAt);
        WorkloadCertificate rotated = bed.Ca.IssueSvid(TokenTestBed.Orders);
        bed.Certificates.Update(rotated);
        AccessToken after = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreSame(rotated, after.Certificate, "the expired token of the previous certificate does not carry on");
        Assert.AreEqual(rotated.Sha256Thumbprint, TokenTestBed.BoundThumbprint(after));
    }

    [TestMethod]
    public async Task ARotationAtThePreviousCertificatesExpiryInstant_WaitsForTheNewToken()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        WorkloadCertificate shortLived = bed.Ca.IssueSvid(TokenTestBed.Orders, TimeSpan.FromMinutes(2));
        bed.Certificates.Update(shortLived);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0));
        AccessToken before = await provider.GetTokenAsync(CancellationToken.None);

        AdvanceTo(time, shortLived.NotAfter);
        WorkloadCertificate rotated = bed.Ca.IssueSvid(TokenTestBed.Orders);
        bed.Certificates.Update(rotated);
        AccessToken after = await provider.GetTokenAsync(CancellationToken.None);

        Assert.IsGreaterThan(shortLived.NotAfter, before.ExpiresAt, "the previous token itself is still valid");
        Assert.AreSame(rotated, after.Certificate, "a token is not used with an expired certificate");
    }

    [TestMethod]
    public async Task ARotationJustBeforeThePreviousPairExpires_KeepsThePreviousPair_WhileTheNewTokenIsRequested()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        var logs = new FakeLogger();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0), logs);
        AccessToken before = await provider.GetTokenAsync(CancellationToken.None);

        AdvanceTo(time, before.ExpiresAt - Tick);
        bed.Certificates.Update(bed.Ca.IssueSvid(TokenTestBed.Orders));
        AccessToken whileRequested = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreSame(before, whileRequested);
        Assert.IsTrue(logs.Contains(1507, $"keeps using its previous certificate {before.CertificateThumbprint}"));
    }

    [TestMethod]
    public async Task DuringTheBackOffOfTheRotatedCertificate_ThePreviousPairCarriesOn_UntilTheNewTokenIsObtained()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using var telemetry = new TokenTelemetryRecorder();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0), metrics: telemetry.Metrics);
        AccessToken before = await provider.GetTokenAsync(CancellationToken.None);
        bed.Server.EnqueueFailures(1, HttpStatusCode.ServiceUnavailable);

        WorkloadCertificate rotated = bed.Ca.IssueSvid(TokenTestBed.Orders);
        bed.Certificates.Update(rotated);
        AccessToken whileRequested = await provider.GetTokenAsync(CancellationToken.None);
        await Eventually.WaitUntilAsync(() => provider.Status.LastFailure is not null, "the request for the rotated certificate fails");
        AccessToken duringTheBackOff = await provider.GetTokenAsync(CancellationToken.None);
        int requestsDuringTheBackOff = bed.Server.TokenRequestCount;
        string?[] results = telemetry.Results;
        time.Advance(TimeSpan.FromSeconds(5));
        AccessToken after = await WaitForNewTokenAsync(provider, before);

        Assert.AreSame(before, whileRequested);
        Assert.AreSame(before, duringTheBackOff, "the previous certificate and its token are both still valid");
        Assert.AreEqual(2, requestsDuringTheBackOff);
        CollectionAssert.AreEqual(
            new[] { SecureCommsTelemetry.Results.Acquired, SecureCommsTelemetry.Results.CacheHit, SecureCommsTelemetry.Results.Failed, SecureCommsTelemetry.Results.CacheHit },
            results);
        Assert.AreSame(rotated, after.Certificate);
    }

    private static void AdvanceTo(FakeTimeProvider time, DateTimeOffset instant) => time.Advance(instant - time.GetUtcNow());

    /// <summary>An instant as the back-off message writes it (round-trip format).</summary>
    private static string Round(DateTimeOffset instant) => instant.ToString("O", CultureInfo.InvariantCulture);

    private static Task<TokenAcquisitionException> FailsAsync(CertificateBoundTokenProvider provider) =>
        Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());

    private static Task<AccessToken> WaitForNewTokenAsync(CertificateBoundTokenProvider provider, AccessToken old) =>
        Eventually.WaitForAsync(
            async () =>
            {
                AccessToken current = await provider.GetTokenAsync(CancellationToken.None);
                return ReferenceEquals(current, old) ? null : current;
            },
            "a new token replaces the old one");
}
