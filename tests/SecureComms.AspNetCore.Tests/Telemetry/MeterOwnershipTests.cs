using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
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

    /// <summary>
    /// IHttpClientFactory hands its own primary <see cref="SocketsHttpHandler"/> the host's meter factory; SecureComms'
    /// primary handler builds its handlers itself and must do the same, or a client's <c>http.client.*</c> metrics go to
    /// the process-wide meter that no service's meter provider owns.
    /// </summary>
    [TestMethod]
    public async Task SecureCommsClient_RecordsItsHttpClientMetrics_OnTheHostsMeterFactory()
    {
        await using SecureServiceHost server = await SecureServiceHost.StartAsync(
            app => app.MapGet("/", () => "ok").AllowAnonymous(),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        (ServiceProvider services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), TestPki.Billing.ToString(), server.BaseAddress);
        await using var _ = services;
        IMeterFactory meters = services.GetRequiredService<IMeterFactory>();
        using var durations = new MetricCollector<double>(meters, "System.Net.Http", "http.client.request.duration");

        using HttpResponseMessage response = await client.GetAsync(new Uri("/", UriKind.Relative));

        Assert.AreEqual(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.HasCount(1, durations.GetMeasurementSnapshot(), "the request's duration, recorded on the meter the host's factory made");
    }
}
