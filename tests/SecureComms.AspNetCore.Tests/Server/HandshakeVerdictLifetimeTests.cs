using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Server;

/// <summary>
/// The handshake verdict is kept per connection, keyed weakly by the client certificate object of that connection:
/// new connections from distinct callers add verdicts, and closing them lets every verdict go (no size limit is
/// needed, the bound is the connections open).
/// </summary>
[TestClass]
public sealed class HandshakeVerdictLifetimeTests
{
    [TestMethod]
    public async Task VerdictsOfClosedConnections_AreFreed()
    {
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", () => "ok").RequireCaller("spiffe://example.org/*"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        ServerTlsOptionsProvider tls = billing.App.Services.GetRequiredService<ServerTlsOptionsProvider>();
        for (int i = 0; i < 24; i++)
        {
            using HttpClient caller = TestClients.RawClient(TestPki.Issue(SpiffeId.Parse($"spiffe://example.org/callers/{i}")).Certificate);
            Assert.AreEqual(HttpStatusCode.OK, (await caller.GetAsync(new Uri(billing.BaseAddress, "/invoices"))).StatusCode);
        }

        Assert.IsGreaterThan(0, tls.RememberedHandshakes, "verdicts were kept (else this test proves nothing)");

        // Closing a connection is asynchronous on the server side: wait for it (never on time itself), collecting.
        int remembered = tls.RememberedHandshakes;
        for (int attempt = 0; attempt < 100 && remembered > 0; attempt++)
        {
            await Task.Delay(100);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            remembered = tls.RememberedHandshakes;
        }

        Assert.AreEqual(0, remembered, "every verdict went with its connection");
    }
}
