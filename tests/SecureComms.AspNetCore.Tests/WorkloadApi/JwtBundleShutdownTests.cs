using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.WorkloadApi;

/// <summary>
/// A service that accepts JWT-SVIDs stops quietly: the JWT bundle stream cancelled by the host's shutdown is not a
/// lost stream, so no warning (event 1837) is logged.
/// </summary>
[TestClass]
public sealed class JwtBundleShutdownTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task HostStopped_AfterBundlesArrived_LogsNoWarning()
    {
        await using DevelopmentWorkloadApiServer agent = await DevelopmentWorkloadApiServer.StartAsync(
            new DevelopmentWorkloadApiServerOptions { Authority = TestPki.Ca, SpiffeId = TestPki.Billing }, TestContext.CancellationToken);
        SecureServiceHost service = await SecureServiceHost.StartAsync(
            _ => { },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:WorkloadApi:Socket"] = agent.Socket,
                ["SecureComms:TokenValidation:AcceptJwtSvids"] = "true",
                ["SecureComms:TokenValidation:JwtSvidAudience"] = "spiffe://example.org/billing",
            });
        WorkloadApiJwtBundleSource bundles = service.App.Services.GetRequiredService<WorkloadApiJwtBundleSource>();
        Assert.IsTrue(await bundles.WaitForBundlesAsync(Eventually.Deadline, TestContext.CancellationToken));
        await Eventually.WaitUntilAsync(() => bundles.Status.Connected, "the stream is up");

        await service.DisposeAsync();

        Assert.AreEqual(TaskStatus.RanToCompletion, bundles.Loop!.Status, "the stream loop ended as stopped");
        Assert.IsEmpty(service.Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Warning).Select(r => $"{r.Id.Id}: {r.Message}").ToArray());
    }
}
