using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureComms.Testing;
using SecureComms.Tests.Fakes;
using static SecureComms.Tests.Health.HealthTestHost;

namespace SecureComms.Tests.Health;

[TestClass]
public sealed class CertificateHealthCheckTests
{
    [TestMethod]
    public async Task OwnCertificate_IsHealthy_ThenDegradedWithAThirdOfItsLifetimeLeft_ThenUnhealthyOnceExpired()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(365));
        WorkloadCertificate svid = ca.IssueSvid(Orders, TimeSpan.FromDays(30));
        using var certificates = new InMemoryCertificateSource(svid);
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()));
        DateTimeOffset overdue = svid.NotAfter - ((svid.NotAfter - svid.NotBefore) / 3);

        HealthReportEntry fresh = await services.CheckAsync(SecureCommsHealthChecks.Certificate);
        time.SetUtcNow(overdue - TimeSpan.FromSeconds(1));
        HealthReportEntry justBefore = await services.CheckAsync(SecureCommsHealthChecks.Certificate);
        time.SetUtcNow(overdue + TimeSpan.FromSeconds(1));
        HealthReportEntry overdueEntry = await services.CheckAsync(SecureCommsHealthChecks.Certificate);
        time.SetUtcNow(svid.NotAfter);
        HealthReportEntry expired = await services.CheckAsync(SecureCommsHealthChecks.Certificate);

        Assert.AreEqual(HealthStatus.Healthy, fresh.Status, fresh.Description);
        Assert.AreEqual("spiffe://example.org/orders", fresh.Data["spiffe_id"]);
        Assert.Contains(SecureCommsHealthChecks.Tag, fresh.Tags.ToList());
        Assert.AreEqual(HealthStatus.Healthy, justBefore.Status, justBefore.Description);
        Assert.AreEqual(HealthStatus.Degraded, overdueEntry.Status, overdueEntry.Description);
        Assert.Contains("has not been rotated", overdueEntry.Description!);
        Assert.AreEqual(HealthStatus.Unhealthy, expired.Status, expired.Description);
        Assert.Contains("expired at", expired.Description!);
    }

    [TestMethod]
    public async Task ConfiguredThreshold_LargerThanAThird_DegradesEarlier()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(365));
        WorkloadCertificate svid = ca.IssueSvid(Orders, TimeSpan.FromDays(30));
        using var certificates = new InMemoryCertificateSource(svid);
        await using ServiceProvider services = Build(
            time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()), o => o.Health.CertificateExpiryWarning = TimeSpan.FromDays(15));

        time.SetUtcNow(svid.NotAfter - TimeSpan.FromDays(15) - TimeSpan.FromSeconds(1));
        HealthStatus before = (await services.CheckAsync(SecureCommsHealthChecks.Certificate)).Status;
        time.SetUtcNow(svid.NotAfter - TimeSpan.FromDays(15) + TimeSpan.FromSeconds(1));
        HealthStatus after = (await services.CheckAsync(SecureCommsHealthChecks.Certificate)).Status;

        Assert.AreEqual(HealthStatus.Healthy, before);
        Assert.AreEqual(HealthStatus.Degraded, after, "15 days left is more than a third of 30 days, but under the threshold");
    }

    [TestMethod]
    public async Task RotatedCertificate_MakesADegradedCheckHealthyAgain()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(365));
        WorkloadCertificate svid = ca.IssueSvid(Orders, TimeSpan.FromHours(1));
        using var certificates = new InMemoryCertificateSource(svid);
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()));

        time.Advance(TimeSpan.FromMinutes(45));
        HealthStatus beforeRotation = (await services.CheckAsync(SecureCommsHealthChecks.Certificate)).Status;
        certificates.Update(ca.IssueSvid(Orders, TimeSpan.FromHours(1)));
        HealthStatus afterRotation = (await services.CheckAsync(SecureCommsHealthChecks.Certificate)).Status;

        Assert.AreEqual(HealthStatus.Degraded, beforeRotation);
        Assert.AreEqual(HealthStatus.Healthy, afterRotation);
    }

    [TestMethod]
    public async Task CertificateNotYetValid_IsUnhealthy()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(365));
        WorkloadCertificate svid = ca.IssueSvid(Orders);
        using var certificates = new InMemoryCertificateSource(svid);
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()));

        time.AdjustTime(svid.NotBefore - TimeSpan.FromMinutes(1)); // a clock behind the issuer's (set back, as an adjusted system clock is)

        HealthReportEntry entry = await services.CheckAsync(SecureCommsHealthChecks.Certificate);
        Assert.AreEqual(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("not valid before", entry.Description!);
    }

    [TestMethod]
    public async Task UnreadableCertificate_IsUnhealthy_WithTheReason()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time);
        await using ServiceProvider services = Build(time, new UnreadableCertificateSource(), new StaticTrustBundleSource(ca.CreateTrustBundle()));

        HealthReportEntry entry = await services.CheckAsync(SecureCommsHealthChecks.Certificate);

        Assert.AreEqual(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("cannot be read: the SVID file is empty", entry.Description!);
    }
}
