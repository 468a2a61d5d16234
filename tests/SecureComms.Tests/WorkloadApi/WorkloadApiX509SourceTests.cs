using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Primitives;
using SecureComms.Testing;
using static SecureComms.Tests.WorkloadApi.WorkloadApiTestBed;

namespace SecureComms.Tests.WorkloadApi;

/// <summary>
/// The X.509 source against a real gRPC Workload API server on a Unix socket: start-up, pushed rotations and bundles,
/// outages and restarts, denial, and malformed pushes. Waits are bounded polls on logs or tokens, never fixed sleeps.
/// </summary>
[TestClass]
public sealed class WorkloadApiX509SourceTests
{
    [TestMethod]
    public async Task AgentStartingAfterTheWorkload_IsWaitedFor_ThenItsSvidIsServed()
    {
        string socketPath = NewSocketPath();
        await using var sut = new SourceUnderTest("unix://" + socketPath);
        await sut.Logger.Collector.WaitForAsync(r => r.Id.Id == 1808, "the source reports it is waiting for the agent");
        Assert.IsFalse(sut.Source.WaitUntilReadyAsync(CancellationToken.None).IsCompleted);

        await using DevelopmentWorkloadApiServer server = await StartServerAsync(socketPath);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);

        Assert.AreEqual(CertificateBinding.Thumbprint(server.CurrentCertificate), sut.Certificates.Current.Sha256Thumbprint);
        Assert.IsTrue(sut.Certificates.Current.Certificate.HasPrivateKey);
        Assert.AreEqual(Orders, sut.Certificates.Current.SpiffeId);
        Assert.IsTrue(sut.Bundles.Current.TryGetBundle(Authority.TrustDomain, out _), "the SVID's bundle is its trust domain's");
        Assert.AreEqual(1, sut.Logger.CountOf(1800));
        Assert.AreEqual(1, sut.Logger.CountOf(1801));
        Assert.AreEqual(HealthStatus.Healthy, sut.Health().Status);
    }

    [TestMethod]
    public async Task NoAgentWithinTheStartupTimeout_FailsStartUp_NamingTheSocket()
    {
        var clock = new TimerWatchingTimeProvider(DateTimeOffset.UtcNow);
        string address = "unix://" + NewSocketPath();
        WorkloadApiOptions options = FastOptions();
        options.StartupTimeout = TimeSpan.FromSeconds(5);
        await using var sut = new SourceUnderTest(address, options, clock);
        await sut.Logger.Collector.WaitForAsync(r => r.Id.Id == 1808, "the first attempt failed");

        clock.Advance(TimeSpan.FromSeconds(5));
        InvalidOperationException error = await Assert.ThrowsExactlyAsync<InvalidOperationException>(
            () => sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline));

        Assert.Contains(address, error.Message);
        Assert.Contains("SecureComms:WorkloadApi:StartupTimeout", error.Message);
        Assert.Contains("00:00:05", error.Message);
        Assert.AreEqual(HealthStatus.Unhealthy, sut.Health(clock).Status);
        Assert.ThrowsExactly<InvalidOperationException>(() => sut.Certificates.Current);
        Assert.AreEqual(0, sut.Bundles.Current.Bundles.Count, "no bundle: nobody is trusted before the first SVID");
    }

    [TestMethod]
    public async Task ReconnectionBackOff_RunsOnTheTimeProvider()
    {
        var clock = new DelayWatchingClock(DateTimeOffset.UtcNow);
        string socketPath = NewSocketPath();
        WorkloadApiOptions options = FastOptions();
        options.ReconnectDelay = TimeSpan.FromSeconds(10);
        options.MaxReconnectDelay = TimeSpan.FromSeconds(40);
        options.StartupTimeout = TimeSpan.FromMinutes(5);
        await using var sut = new SourceUnderTest("unix://" + socketPath, options, clock);
        TimeSpan delay = await clock.FirstDelay.Task.WaitAsync(Eventually.Deadline);
        await using DevelopmentWorkloadApiServer server = await StartServerAsync(socketPath);

        Assert.IsTrue(delay > TimeSpan.Zero && delay <= TimeSpan.FromSeconds(40), $"the first back-off ({delay}) is jittered around ReconnectDelay and at most MaxReconnectDelay");
        Assert.IsFalse(sut.Source.WaitUntilReadyAsync(CancellationToken.None).IsCompleted, "no reconnection before the back-off elapsed on the clock");
        clock.Advance(delay);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);
        Assert.AreEqual(Orders, sut.Certificates.Current.SpiffeId);
    }

    [TestMethod]
    public async Task PushedRotation_ReplacesCurrent_FiresTheChangeToken_AndIsLoggedAsAFileRotationIs()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        await using var sut = new SourceUnderTest(server.Socket);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);
        string before = sut.Certificates.Current.Sha256Thumbprint;
        Task fired = Eventually.FiresAsync(sut.Certificates.GetChangeToken(), "rotation");
        IChangeToken bundleToken = sut.Bundles.GetChangeToken();

        X509Certificate2 rotated = await server.RotateAsync();
        await fired;

        Assert.AreNotEqual(before, sut.Certificates.Current.Sha256Thumbprint);
        Assert.AreEqual(CertificateBinding.Thumbprint(rotated), sut.Certificates.Current.Sha256Thumbprint);
        Assert.IsTrue(sut.Logger.Contains(1000, sut.Certificates.Current.Sha256Thumbprint[..16]), "the rotation is logged as a file rotation is");
        Assert.IsFalse(bundleToken.HasChanged, "the same bundle pushed again is not a bundle change");
    }

    [TestMethod]
    public async Task FederatedBundlePush_UpdatesTheTrustBundleSource_AndLeavesTheCertificate()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        await using var sut = new SourceUnderTest(server.Socket);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);
        Task fired = Eventually.FiresAsync(sut.Bundles.GetChangeToken(), "bundle change");
        IChangeToken certificateToken = sut.Certificates.GetChangeToken();
        var partner = TrustDomain.Parse("partner.test");

        await server.AddFederatedBundleAsync(partner, [PartnerAuthority.Certificate]);
        await fired;

        Assert.IsTrue(sut.Bundles.Current.TryGetBundle(partner, out TrustBundle? bundle));
        Assert.AreEqual(PartnerAuthority.Certificate.Thumbprint, bundle.Authorities[0].Thumbprint);
        Assert.IsTrue(sut.Bundles.Current.TryGetBundle(Authority.TrustDomain, out _), "the own bundle stays");
        Assert.IsFalse(certificateToken.HasChanged, "the same SVID pushed again is not a rotation");
        Assert.IsTrue(sut.Logger.Contains(1100, "partner.test"));
    }

    [TestMethod]
    public async Task BrokenStream_IsReopened_AndTheNextPushIsApplied()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        await using var sut = new SourceUnderTest(server.Socket);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);

        server.BreakStreams();
        await sut.Logger.Collector.WaitForAsync(r => r.Id.Id == 1806, "the broken stream is reported");
        await Eventually.WaitUntilAsync(() => sut.Logger.CountOf(1800) == 2 && server.ConnectedX509Streams == 1, "the stream is reopened");
        Task fired = Eventually.FiresAsync(sut.Certificates.GetChangeToken(), "rotation after reconnecting");
        X509Certificate2 rotated = await server.RotateAsync();
        await fired;

        Assert.AreEqual(CertificateBinding.Thumbprint(rotated), sut.Certificates.Current.Sha256Thumbprint);
        Assert.AreEqual(HealthStatus.Healthy, sut.Health().Status);
        Assert.AreEqual(1, sut.Logger.CountOf(1801), "a reconnection is not a first SVID");
    }

    [TestMethod]
    public async Task Disposal_EndsTheStreamQuietly_WithoutAWarningOrAReconnection()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        var sut = new SourceUnderTest(server.Socket);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);

        await sut.DisposeAsync(); // the host stopping: its own cancellation ends the call, the agent did nothing

        Microsoft.Extensions.Logging.Testing.FakeLogRecord[] loud = sut.Logger.Collector.GetSnapshot()
            .Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).ToArray();
        Assert.IsEmpty(loud, string.Join("; ", loud.Select(r => $"{r.Id.Id}: {r.Message}")));
        Assert.AreEqual(1, sut.Logger.CountOf(1800), "no reconnection after disposal");
    }

    [TestMethod]
    public async Task AStreamEndingRightAfterAResponse_IsReopenedOnlyAfterTheReconnectDelay()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        WorkloadApiOptions options = FastOptions();
        options.ReconnectDelay = TimeSpan.FromSeconds(10);
        options.MaxReconnectDelay = TimeSpan.FromSeconds(30);
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        await using var sut = new SourceUnderTest(server.Socket, options, clock);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);

        server.BreakStreams(); // no time passed on the clock since the stream opened
        Microsoft.Extensions.Logging.Testing.FakeLogRecord broken = await sut.Logger.Collector.WaitForAsync(r => r.Id.Id == 1806, "the broken stream is reported");
        Assert.Contains("reconnects in 00:00:10", broken.Message);
        Assert.AreEqual(1, sut.Logger.CountOf(1800), "not reopened before the delay");

        clock.Advance(TimeSpan.FromSeconds(10));
        await Eventually.WaitUntilAsync(() => sut.Logger.CountOf(1800) == 2, "reopened after the delay");
    }

    [TestMethod]
    public async Task AgentRestartOnTheSameSocket_KeepsTheSvidServed_HealthDegradedMeanwhile_ThenReconnects()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        await using var sut = new SourceUnderTest(server.Socket);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);
        string served = sut.Certificates.Current.Sha256Thumbprint;

        await server.StopAsync();
        await sut.Logger.Collector.WaitForAsync(r => r.Id.Id == 1806, "the outage is a warning");
        await Eventually.WaitUntilAsync(() => sut.Health().Status == HealthStatus.Degraded, "health degrades");
        HealthCheckResult during = sut.Health();
        Assert.AreEqual(served, sut.Certificates.Current.Sha256Thumbprint, "the current SVID is served during the outage");

        await server.RestartAsync();
        await Eventually.WaitUntilAsync(() => sut.Health().Status == HealthStatus.Healthy, "reconnected after the restart");
        Task fired = Eventually.FiresAsync(sut.Certificates.GetChangeToken(), "rotation after the restart");
        X509Certificate2 rotated = await server.RotateAsync();
        await fired;

        Assert.Contains(server.Socket, during.Description!);
        Assert.AreEqual(CertificateBinding.Thumbprint(rotated), sut.Certificates.Current.Sha256Thumbprint);
    }

    [TestMethod]
    public async Task SvidServedDuringAnOutage_MakesHealthUnhealthyOnceExpired()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        await using var sut = new SourceUnderTest(server.Socket, FastOptions(), clock);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);

        await server.StopAsync();
        await Eventually.WaitUntilAsync(() => sut.Health(clock).Status == HealthStatus.Degraded, "the outage is noticed");
        clock.SetUtcNow(sut.Certificates.Current.NotAfter.AddSeconds(1));

        HealthCheckResult expired = sut.Health(clock);
        Assert.AreEqual(HealthStatus.Unhealthy, expired.Status);
        Assert.Contains("expired", expired.Description!);
    }

    [TestMethod]
    public async Task PermissionDeniedAtStartUp_FailsWithNoIdentityRegistered_NamingTheSocket()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        server.DenyAll = true;
        await using var sut = new SourceUnderTest(server.Socket);

        InvalidOperationException error = await Assert.ThrowsExactlyAsync<InvalidOperationException>(
            () => sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline));

        Assert.Contains($"no identity registered for this workload at {server.Socket}", error.Message);
        Assert.Contains("PermissionDenied", error.Message);
    }

    [TestMethod]
    public async Task PermissionDeniedLater_IsAWarning_AndHealthDegraded_WhileTheSvidIsServed()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        await using var sut = new SourceUnderTest(server.Socket);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);
        string served = sut.Certificates.Current.Sha256Thumbprint;

        server.DenyAll = true;
        await sut.Logger.Collector.WaitForAsync(r => r.Id.Id == 1807, "the denial is a warning");

        HealthCheckResult health = sut.Health();
        Assert.AreEqual(HealthStatus.Degraded, health.Status);
        Assert.Contains("no identity registered for this workload", health.Description!);
        Assert.AreEqual(served, sut.Certificates.Current.Sha256Thumbprint);
        Assert.AreEqual(0, sut.Logger.CountOf(1806), "a denial is reported as a denial, not as a lost stream");
    }

    /// <summary>Each malformed push is refused with one warning naming why; the last good SVID stays, and a good push after it still rotates.</summary>
    [TestMethod]
    [DataRow("BadDer", "x509_svid is not DER")]
    [DataRow("KeyOfAnotherCertificate", "does not match the certificate's public key")]
    [DataRow("NoUriSan", "no URI subject alternative name")]
    [DataRow("CertificateAuthorityAsLeaf", "LeafIsCertificateAuthority")]
    [DataRow("KeyNotPkcs8", "x509_svid_key is not a usable PKCS#8 key")]
    [DataRow("OtherSpiffeId", "is not the SVID's spiffe_id")]
    [DataRow("RogueAuthority", "breaks X509-SVID rules")]
    public async Task MalformedPush_IsIgnored_AndTheLastGoodSvidIsKept(string defect, string reason)
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        await using var sut = new SourceUnderTest(server.Socket);
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);
        string good = sut.Certificates.Current.Sha256Thumbprint;
        IChangeToken token = sut.Certificates.GetChangeToken();
        (byte[] der, byte[] key, string id) = Malformed(defect);

        await server.PushRawX509Async(der, key, id);
        Microsoft.Extensions.Logging.Testing.FakeLogRecord refused = await sut.Logger.Collector.WaitForAsync(r => r.Id.Id == 1804, "the push is refused");

        Assert.Contains(reason, refused.Message);
        Assert.AreEqual(good, sut.Certificates.Current.Sha256Thumbprint, "the last good SVID stays");
        Assert.IsFalse(token.HasChanged);
        Assert.DoesNotContain("PRIVATE KEY", refused.Message);
        Task fired = Eventually.FiresAsync(sut.Certificates.GetChangeToken(), "a good push after a bad one");
        X509Certificate2 rotated = await server.RotateAsync();
        await fired;
        Assert.AreEqual(CertificateBinding.Thumbprint(rotated), sut.Certificates.Current.Sha256Thumbprint);
        Assert.AreEqual(1, sut.Logger.CountOf(1804));
    }

    [TestMethod]
    public async Task MalformedFirstPush_IsIgnored_AndStartUpWaitsForAGoodOne()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        (byte[] der, byte[] key, string id) = Malformed("NoUriSan");
        await server.PushRawX509Async(der, key, id);
        await using var sut = new SourceUnderTest(server.Socket);
        await sut.Logger.Collector.WaitForAsync(r => r.Id.Id == 1804, "the first push is refused");
        Assert.IsFalse(sut.Source.WaitUntilReadyAsync(CancellationToken.None).IsCompleted);

        X509Certificate2 good = await server.RotateAsync();
        await sut.Source.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);

        Assert.AreEqual(CertificateBinding.Thumbprint(good), sut.Certificates.Current.Sha256Thumbprint);
    }

    private static (byte[] Der, byte[] Key, string SpiffeId) Malformed(string defect)
    {
        string id = Orders.ToString();
        switch (defect)
        {
            case "BadDer":
                return ([0x30, 0x82, 0x04, 0x00, 0x01, 0x02], Pkcs8(Authority.IssueSvid(Orders).Certificate), id);
            case "KeyOfAnotherCertificate":
                return (Authority.IssueSvid(Orders).Certificate.RawData, Pkcs8(Authority.IssueSvid(Orders).Certificate), id);
            case "KeyNotPkcs8":
                return (Authority.IssueSvid(Orders).Certificate.RawData, [0x30, 0x03, 0x02, 0x01, 0x00], id);
            case "OtherSpiffeId":
                X509Certificate2 billing = Authority.IssueSvid(SpiffeId.Parse("spiffe://example.org/billing")).Certificate;
                return (billing.RawData, Pkcs8(billing), id);
            case "RogueAuthority":
                using (DevelopmentCertificateAuthority rogue = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org")))
                {
                    X509Certificate2 forged = rogue.IssueSvid(Orders).Certificate;
                    return (forged.RawData, Pkcs8(forged), id);
                }

            default:
                X509Certificate2 defective = Authority.IssueDefective(Orders, Enum.Parse<SvidDefect>(defect));
                return (defective.RawData, Pkcs8(defective), id);
        }
    }

    /// <summary>Reports the first timer armed for a reconnection delay (shorter than a minute; the start-up deadline is longer).</summary>
    private sealed class DelayWatchingClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        public TaskCompletionSource<TimeSpan> FirstDelay { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ITimer timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime > TimeSpan.Zero && dueTime < TimeSpan.FromMinutes(1))
            {
                FirstDelay.TrySetResult(dueTime);
            }

            return timer;
        }
    }
}
