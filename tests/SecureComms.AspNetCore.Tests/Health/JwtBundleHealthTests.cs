using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Health;

/// <summary>
/// The <c>securecomms.jwt_bundles</c> check of a service that accepts JWT-SVIDs, on real Kestrel with its JWT bundles
/// streamed by a development Workload API server over a Unix socket: Healthy while bundles arrive, Degraded while the
/// stream is down (or denied) and the last bundles are kept, Unhealthy when none ever arrived.
/// </summary>
[TestClass]
public sealed class JwtBundleHealthTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task BundlesReceived_AndStreamUp_IsHealthy()
    {
        await using DevelopmentWorkloadApiServer agent = await StartAgentAsync();
        await using SecureServiceHost service = await StartServiceAsync(agent);

        HealthReportEntry entry = await WaitForAsync(service, HealthStatus.Healthy);

        Assert.Contains($"Receiving JWT bundles from the SPIFFE Workload API at {agent.Socket}", entry.Description!);
        Assert.IsTrue((bool)entry.Data["connected"]);
        Assert.IsTrue(entry.Data.ContainsKey("updated_at"));
    }

    [TestMethod]
    public async Task AgentGone_AfterBundlesArrived_IsDegraded_AndTheBundlesAreKept()
    {
        await using DevelopmentWorkloadApiServer agent = await StartAgentAsync();
        await using SecureServiceHost service = await StartServiceAsync(agent);
        await WaitForAsync(service, HealthStatus.Healthy);

        await agent.StopAsync();
        HealthReportEntry entry = await WaitForAsync(service, HealthStatus.Degraded);

        Assert.Contains("is down", entry.Description!);
        Assert.Contains("JWT-SVIDs are validated with the bundles received at", entry.Description!);
        Assert.IsFalse((bool)entry.Data["connected"]);
        Assert.IsTrue(entry.Data.ContainsKey("disconnected_since"));
        Assert.IsNotEmpty(service.App.Services.GetRequiredService<WorkloadApiJwtBundleSource>().GetKeys(TestPki.TrustDomain), "the last bundles are kept");
    }

    [TestMethod]
    public async Task WorkloadDenied_AfterBundlesArrived_IsDegraded_NamingTheDenial()
    {
        await using DevelopmentWorkloadApiServer agent = await StartAgentAsync();
        await using SecureServiceHost service = await StartServiceAsync(agent);
        await WaitForAsync(service, HealthStatus.Healthy);

        agent.DenyAll = true;
        HealthReportEntry entry = await WaitForAsync(service, HealthStatus.Degraded);

        Assert.Contains("no identity registered for this workload", entry.Description!);
    }

    [TestMethod]
    public async Task NoBundleEverReceived_IsUnhealthy()
    {
        await using DevelopmentWorkloadApiServer agent = await StartAgentAsync();
        agent.DenyAll = true;
        await using SecureServiceHost service = await StartServiceAsync(agent);

        HealthReportEntry entry = await WaitForAsync(service, HealthStatus.Unhealthy, e => e.Description!.Contains("no identity registered", StringComparison.Ordinal));

        Assert.Contains($"No JWT bundle has arrived from the SPIFFE Workload API at {agent.Socket}", entry.Description!);
        Assert.Contains("every JWT-SVID is refused", entry.Description!);
    }

    [TestMethod]
    public async Task JwtSvidsNotAccepted_IsHealthy_AndOpensNoStream()
    {
        await using DevelopmentWorkloadApiServer agent = await StartAgentAsync();
        await using SecureServiceHost service = await SecureServiceHost.StartAsync(
            _ => { },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?> { ["SecureComms:WorkloadApi:Socket"] = agent.Socket });

        HealthReportEntry entry = (await CheckAsync(service)).Entries[SecureCommsHealthChecks.JwtBundles];

        Assert.AreEqual(HealthStatus.Healthy, entry.Status);
        Assert.Contains("JWT-SVIDs are not accepted", entry.Description!);
        Assert.AreEqual(0, service.Logs.CountOf(1835), "no JWT bundle was fetched");
    }

    private static Task<DevelopmentWorkloadApiServer> StartAgentAsync() =>
        DevelopmentWorkloadApiServer.StartAsync(new DevelopmentWorkloadApiServerOptions { Authority = TestPki.Ca, SpiffeId = TestPki.Billing });

    private static Task<SecureServiceHost> StartServiceAsync(DevelopmentWorkloadApiServer agent) =>
        SecureServiceHost.StartAsync(
            _ => { },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:WorkloadApi:Socket"] = agent.Socket,
                ["SecureComms:WorkloadApi:ReconnectDelay"] = "00:00:00.050",
                ["SecureComms:WorkloadApi:MaxReconnectDelay"] = "00:00:00.200",
                ["SecureComms:TokenValidation:AcceptJwtSvids"] = "true",
                ["SecureComms:TokenValidation:JwtSvidAudience"] = "spiffe://example.org/billing",
            });

    private static Task<HealthReport> CheckAsync(SecureServiceHost service) =>
        service.App.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == SecureCommsHealthChecks.JwtBundles);

    private static async Task<HealthReportEntry> WaitForAsync(SecureServiceHost service, HealthStatus status, Func<HealthReportEntry, bool>? also = null)
    {
        HealthReportEntry entry = default;
        await Eventually.WaitUntilAsync(
            async () =>
            {
                entry = (await CheckAsync(service)).Entries[SecureCommsHealthChecks.JwtBundles];
                return entry.Status == status && (also is null || also(entry));
            },
            $"the JWT bundle check reports {status}");
        return entry;
    }
}
