using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SecureComms.Testing;
using SecureComms.Tests.Fakes;
using static SecureComms.Tests.Health.HealthTestHost;

namespace SecureComms.Tests.Certificates;

/// <summary>
/// The workload certificate's TLS context is built when the host starts, before any listener opens or client calls:
/// the process's first chain build (which loads the system trust store) is not paid by the first handshake.
/// </summary>
[TestClass]
public sealed class TlsContextAtStartupTests
{
    [TestMethod]
    public async Task HostStart_BuildsTheCertificatesTlsContext_BeforeTheFirstHandshake()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg, time, TimeSpan.FromDays(30));
        WorkloadCertificate svid = ca.IssueSvid(Orders, TimeSpan.FromHours(1));
        using var certificates = new InMemoryCertificateSource(svid);
        await using ServiceProvider services = Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()));
        bool builtBeforeStart = svid.HasSslContext;

        foreach (IHostedService hosted in services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        Assert.IsFalse(builtBeforeStart, "nothing builds the context while the container is only built");
        Assert.IsTrue(svid.HasSslContext, "the start-up check builds it");
    }
}
