using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureComms.Testing;
using SecureComms.Tests.Fakes;
using static SecureComms.Tests.Health.HealthTestHost;

namespace SecureComms.Tests.Health;

/// <summary>The expiry warnings are logged by the clock, without anyone polling the health checks.</summary>
[TestClass]
public sealed class CertificateExpiryMonitorTests
{
    private const int Expiring = 1700;
    private const int Expired = 1701;

    [TestMethod]
    public async Task Warning_IsLoggedOnceWhenRotationIsOverdue_AndAnErrorOnceAtExpiry()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(365));
        WorkloadCertificate svid = ca.IssueSvid(Orders, TimeSpan.FromHours(3));
        using var certificates = new InMemoryCertificateSource(svid);
        var log = new FakeLogger();
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()), log: log);
        await StartHostedServicesAsync(services);
        DateTimeOffset overdue = svid.NotAfter - ((svid.NotAfter - svid.NotBefore) / 3);

        time.SetUtcNow(overdue - TimeSpan.FromSeconds(1));
        int beforeOverdue = log.CountOf(Expiring);
        time.SetUtcNow(overdue + TimeSpan.FromMinutes(10));
        time.Advance(TimeSpan.FromMinutes(10));
        int afterOverdue = log.CountOf(Expiring);
        int expiredBefore = log.CountOf(Expired);
        time.SetUtcNow(svid.NotAfter + TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromHours(1));

        Assert.AreEqual(0, beforeOverdue);
        Assert.AreEqual(1, afterOverdue, "one warning per certificate");
        Assert.AreEqual(0, expiredBefore);
        Assert.AreEqual(1, log.CountOf(Expired));
        FakeLogRecord expiring = log.Collector.GetSnapshot().Single(e => e.Id.Id == Expiring);
        Assert.AreEqual(LogLevel.Warning, expiring.Level);
        Assert.Contains("spiffe://example.org/orders", expiring.Message);
        Assert.Contains("has not been rotated", expiring.Message);
        Assert.AreEqual(LogLevel.Error, log.Collector.GetSnapshot().Single(e => e.Id.Id == Expired).Level);
    }

    [TestMethod]
    public async Task Rotation_RearmsTheWarningForTheNewCertificate()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(365));
        using var certificates = new InMemoryCertificateSource(ca.IssueSvid(Orders, TimeSpan.FromHours(3)));
        var log = new FakeLogger();
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()), log: log);
        await StartHostedServicesAsync(services);

        time.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(5)); // first certificate overdue
        WorkloadCertificate rotated = ca.IssueSvid(Orders, TimeSpan.FromHours(3));
        certificates.Update(rotated);
        time.Advance(TimeSpan.FromHours(1)); // the old one would have expired by now; the new one is fine
        int afterRotation = log.CountOf(Expiring);
        int expiredAfterRotation = log.CountOf(Expired);
        time.SetUtcNow(rotated.NotAfter - TimeSpan.FromMinutes(30)); // the new one is overdue too

        Assert.AreEqual(1, afterRotation);
        Assert.AreEqual(0, expiredAfterRotation, "the rotated-out certificate's expiry is not announced");
        Assert.AreEqual(2, log.CountOf(Expiring));
    }

    [TestMethod]
    public async Task LongLivedCertificate_IsWarnedAboutMonthsAhead_ThroughDailyTimerSteps()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(800));
        WorkloadCertificate svid = ca.IssueSvid(Orders, TimeSpan.FromDays(365));
        using var certificates = new InMemoryCertificateSource(svid);
        var log = new FakeLogger();
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()), log: log);
        await StartHostedServicesAsync(services);
        DateTimeOffset overdue = svid.NotAfter - ((svid.NotAfter - svid.NotBefore) / 3);

        time.SetUtcNow(overdue - TimeSpan.FromDays(1));
        int dayBefore = log.CountOf(Expiring);
        time.SetUtcNow(overdue + TimeSpan.FromHours(1));

        Assert.AreEqual(0, dayBefore);
        Assert.AreEqual(1, log.CountOf(Expiring));
    }

    [TestMethod]
    public async Task CertificateAlreadyOverdueAtStart_IsWarnedAboutImmediately()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(365));
        WorkloadCertificate svid = ca.IssueSvid(Orders, TimeSpan.FromHours(3));
        using var certificates = new InMemoryCertificateSource(svid);
        var log = new FakeLogger();
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()), log: log);
        time.SetUtcNow(svid.NotAfter - TimeSpan.FromMinutes(20));

        await StartHostedServicesAsync(services);

        Assert.AreEqual(1, log.CountOf(Expiring));
        Assert.Contains("(20m 0s left)", log.Collector.GetSnapshot().Single(e => e.Id.Id == Expiring).Message);
    }

    private static async Task StartHostedServicesAsync(IServiceProvider services)
    {
        foreach (IHostedService hosted in services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }
}
