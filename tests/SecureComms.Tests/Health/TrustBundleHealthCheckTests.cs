using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureComms.Testing;
using SecureComms.Tests.Fakes;
using static SecureComms.Tests.Health.HealthTestHost;

namespace SecureComms.Tests.Health;

[TestClass]
public sealed class TrustBundleHealthCheckTests
{
    private static readonly TrustDomain PartnerOrg = TrustDomain.Parse("partner.org");

    [TestMethod]
    public async Task OwnTrustDomainBundle_Valid_IsHealthy()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(365));
        using var certificates = new InMemoryCertificateSource(ca.IssueSvid(Orders));
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()));

        HealthReportEntry entry = await services.CheckAsync(SecureCommsHealthChecks.TrustBundles);

        Assert.AreEqual(HealthStatus.Healthy, entry.Status, entry.Description);
        Assert.StartsWith("1 valid, 0 expired", (string)entry.Data["example.org"]);
    }

    [TestMethod]
    public async Task OwnTrustDomainBundle_AllAuthoritiesExpired_IsUnhealthy()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(10));
        using var certificates = new InMemoryCertificateSource(ca.IssueSvid(Orders));
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()));

        HealthStatus before = (await services.CheckAsync(SecureCommsHealthChecks.TrustBundles)).Status;
        time.Advance(TimeSpan.FromDays(11));
        HealthReportEntry after = await services.CheckAsync(SecureCommsHealthChecks.TrustBundles);

        Assert.AreEqual(HealthStatus.Healthy, before);
        Assert.AreEqual(HealthStatus.Unhealthy, after.Status);
        Assert.Contains("no currently valid authority for example.org", after.Description!);
    }

    [TestMethod]
    public async Task NoBundleForOwnTrustDomain_IsUnhealthy()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ours = DevelopmentCertificateAuthority.Create(ExampleOrg, time);
        using var partner = DevelopmentCertificateAuthority.Create(PartnerOrg, time);
        using var certificates = new InMemoryCertificateSource(ours.IssueSvid(Orders));
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(partner.CreateTrustBundle()));

        HealthReportEntry entry = await services.CheckAsync(SecureCommsHealthChecks.TrustBundles);

        Assert.AreEqual(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("no bundle for the workload's own trust domain example.org", entry.Description!);
    }

    [TestMethod]
    public async Task NoBundleAtAll_IsUnhealthy()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time);
        using var certificates = new InMemoryCertificateSource(ca.IssueSvid(Orders));
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource());

        HealthReportEntry entry = await services.CheckAsync(SecureCommsHealthChecks.TrustBundles);

        Assert.AreEqual(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("No trust bundle is loaded", entry.Description!);
    }

    [TestMethod]
    public async Task ExpiredFederatedBundle_OrAnExpiredAuthorityBesideAValidOne_IsDegraded()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ours = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(365));
        using var oursOld = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(5));
        using var partner = DevelopmentCertificateAuthority.Create(PartnerOrg, time, TimeSpan.FromDays(5));
        using var certificates = new InMemoryCertificateSource(ours.IssueSvid(Orders, TimeSpan.FromDays(30)));
        var ownBundle = new TrustBundle(ExampleOrg, [ours.Certificate, oursOld.Certificate]);
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ownBundle, partner.CreateTrustBundle()));

        HealthStatus before = (await services.CheckAsync(SecureCommsHealthChecks.TrustBundles)).Status;
        time.Advance(TimeSpan.FromDays(6));
        HealthReportEntry after = await services.CheckAsync(SecureCommsHealthChecks.TrustBundles);

        Assert.AreEqual(HealthStatus.Healthy, before);
        Assert.AreEqual(HealthStatus.Degraded, after.Status, after.Description);
        Assert.Contains("1 expired authority in the bundle of example.org", after.Description!);
        Assert.Contains("no currently valid authority for partner.org", after.Description!);
    }
}
