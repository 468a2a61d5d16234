using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;
using Instruments = SecureComms.SecureCommsTelemetry.Instruments;

namespace SecureComms.AspNetCore.Tests.Telemetry;

/// <summary>
/// Each package records its own instruments, into one <c>SecureComms</c> meter: a service that both serves and calls
/// out (a gateway) must show an exporter each instrument once, including the peer certificate failures counter that
/// the server (callers refused) and the outbound client (servers refused) both record.
/// </summary>
[TestClass]
public sealed class MeterOwnershipTests
{
    [TestMethod]
    public async Task ServerAndClientInstruments_ShareOneMeter_AndEachInstrumentIsPublishedOnce()
    {
        await using SecureServiceHost host = await SecureServiceHost.StartAsync(
            app => app.MapGet("/", () => "ok"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        IServiceProvider services = host.App.Services;
        Meter core = services.GetRequiredService<SecureCommsMetrics>().Meter;
        Meter server = services.GetRequiredService<SecureCommsServerMetrics>().Meter;

        var published = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter, core) || ReferenceEquals(instrument.Meter, server))
                {
                    lock (published)
                    {
                        published.Add(instrument.Name);
                    }
                }
            },
        };
        listener.Start(); // publishes every instrument that exists already

        Assert.AreSame(core, server, "the meter factory hands both packages the one SecureComms meter");
        Assert.AreEqual(1, published.Count(name => name == Instruments.PeerCertificateFailures), string.Join(", ", published));
        Assert.AreEqual(1, published.Count(name => name == Instruments.AuthorizationDecisions), string.Join(", ", published));
        Assert.HasCount(published.Distinct().Count(), published, "no instrument name twice: " + string.Join(", ", published));
    }
}
