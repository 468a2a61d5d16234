using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SecureComms.Testing;

namespace SecureComms.Tests.Telemetry;

/// <summary>
/// The rotations counter on a real file system: a broken rewrite is counted as a failed rotation (and the last
/// good certificate stays), a good one as a success.
/// </summary>
[TestClass]
public sealed class CertificateRotationMetricsTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    [TestMethod]
    public async Task RotationsFromPemFiles_AreCountedBySuccessAndFailure()
    {
        DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using var dir = new TemporaryFolder();
        DevelopmentCertificateAuthority.WriteCertificatePem(ca.IssueSvid(Orders), dir.File("svid.pem"), dir.File("svid.key"));
        ca.WriteTrustBundlePem(dir.File("bundle.pem"));
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Certificate:CertificatePath"] = dir.File("svid.pem"),
            ["SecureComms:Certificate:KeyPath"] = dir.File("svid.key"),
            ["SecureComms:TrustBundles:example.org:Path"] = dir.File("bundle.pem"),
            ["SecureComms:FilePollingInterval"] = "00:00:01",
        }).Build();
        await using ServiceProvider services = new ServiceCollection().AddSecureCommsCore(configuration).Services.BuildServiceProvider();
        foreach (IHostedService hosted in services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        Meter meter = services.GetRequiredService<SecureCommsMetrics>().Meter;
        var results = new ConcurrentQueue<string?>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == meter && instrument.Name == SecureCommsTelemetry.Instruments.CertificateRotations)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            Assert.AreEqual(1, value);
            Assert.HasCount(1, tags, "only the result: low cardinality");
            results.Enqueue(tags[0].Value as string);
        });
        listener.Start();
        ICertificateSource source = services.GetRequiredService<ICertificateSource>();
        string good = source.Current.Sha256Thumbprint;

        await File.WriteAllTextAsync(dir.File("svid.pem"), "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
        await Eventually.WaitUntilAsync(() => results.Contains(SecureCommsTelemetry.Results.Failed), "the broken rewrite is counted as a failed rotation");
        Assert.AreEqual(good, source.Current.Sha256Thumbprint, "the last good certificate stays");

        WorkloadCertificate rotated = ca.IssueSvid(Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(rotated, dir.File("svid.pem"), dir.File("svid.key"));
        await Eventually.WaitUntilAsync(() => results.Contains(SecureCommsTelemetry.Results.Success), "the good rewrite is counted as a rotation");
        Assert.AreEqual(rotated.Sha256Thumbprint, source.Current.Sha256Thumbprint);
        Assert.ContainsSingle(r => r == SecureCommsTelemetry.Results.Success, results, "one rotation, counted once");
    }
}
