using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SecureComms.Testing;
using static SecureComms.Tests.WorkloadApi.WorkloadApiTestBed;

namespace SecureComms.Tests.WorkloadApi;

/// <summary>
/// Pushed updates are counted as file rotations are (<c>securecomms.certificate.rotations</c> by result), plus the
/// Workload API's own update and disconnection counters.
/// </summary>
[TestClass]
public sealed class WorkloadApiMetricsTests
{
    [TestMethod]
    public async Task PushedRotations_RefusedPushes_AndOutages_AreCounted()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Certificate:Source"] = "WorkloadApi",
            ["SecureComms:WorkloadApi:Socket"] = server.Socket,
        }).Build();
        await using ServiceProvider services = new ServiceCollection().AddSecureCommsCore(configuration).Services.BuildServiceProvider();
        foreach (IHostedService hosted in services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        Meter meter = services.GetRequiredService<SecureCommsMetrics>().Meter;
        var measurements = new ConcurrentQueue<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == meter && instrument.Name is SecureCommsTelemetry.Instruments.CertificateRotations
                    or SecureCommsTelemetry.Instruments.WorkloadApiUpdates or SecureCommsTelemetry.Instruments.WorkloadApiDisconnections)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            Assert.HasCount(1, tags, "one low-cardinality tag");
            measurements.Enqueue($"{instrument.Name}={tags[0].Value}");
        });
        listener.Start();
        ICertificateSource source = services.GetRequiredService<ICertificateSource>();

        var defective = Authority.IssueDefective(Orders, SvidDefect.NoUriSan);
        await server.PushRawX509Async(defective.RawData, Pkcs8(defective), Orders.ToString());
        await Eventually.WaitUntilAsync(() => measurements.Contains("securecomms.workload_api.updates=rejected"), "the refused push is counted");
        Task rotated = Eventually.FiresAsync(source.GetChangeToken(), "rotation");
        await server.RotateAsync();
        await rotated;
        await Eventually.WaitUntilAsync(() => measurements.Contains("securecomms.certificate.rotations=success"), "the rotation is counted");
        server.BreakStreams();
        await Eventually.WaitUntilAsync(() => measurements.Contains("securecomms.workload_api.disconnections=Unavailable"), "the outage is counted");

        Assert.Contains("securecomms.certificate.rotations=failed", measurements, "a refused push is a failed rotation, as a half-written file is");
        Assert.Contains("securecomms.workload_api.updates=success", measurements);
    }
}
