using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Server;

/// <summary>
/// A kept-alive connection can outlive the caller's certificate. The chain is built once, in the handshake; every
/// request then checks that the verdict still holds at the server's clock, and a caller whose certificate expired
/// since is refused on the connection it already has.
/// </summary>
[TestClass]
public sealed class ConnectionOutlivesCertificateTests
{
    [TestMethod]
    public async Task CallerWhoseCertificateExpiresDuringTheConnection_IsRefusedOnThatConnection()
    {
        // The example.org bundle also holds a root that expires in 10 minutes, with an intermediate ending with it.
        var clock = new ShiftedClock();
        using var shortLivedRoot = DevelopmentCertificateAuthority.Create(TestPki.TrustDomain, lifetime: TimeSpan.FromMinutes(10));
        using DevelopmentCertificateAuthority shortLivedIntermediate = shortLivedRoot.CreateIntermediate();
        var bundle = new TrustBundle(TestPki.TrustDomain, [.. TestPki.Ca.CreateTrustBundle().Authorities, .. shortLivedRoot.CreateTrustBundle().Authorities]);
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => $"hello {ctx.GetCallerSpiffeId()}").RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            new InMemoryTrustBundleSource(bundle),
            services: s => s.AddSingleton<TimeProvider>(clock));
        var validator = billing.App.Services.GetRequiredService<PeerCertificateValidator>();
        var invoices = new Uri(billing.BaseAddress, "/invoices");

        // Three callers with open connections: a certificate valid for 10 minutes; one valid for an hour under CAs that
        // expire in 10 minutes; one valid for an hour under the long-lived CA.
        using HttpClient shortLived = TestClients.RawClient(TestPki.Ca.IssueSvid(TestPki.Orders, TimeSpan.FromMinutes(10)));
        using HttpClient shortLivedCas = TestClients.RawClient(shortLivedIntermediate.IssueSvid(TestPki.Orders, TimeSpan.FromHours(1)));
        using HttpClient longLived = TestClients.RawClient(TestPki.Ca.IssueSvid(TestPki.Orders, TimeSpan.FromHours(1)));
        foreach (HttpClient caller in new[] { shortLived, shortLivedCas, longLived })
        {
            using HttpResponseMessage first = await caller.GetAsync(invoices);
            Assert.AreEqual(HttpStatusCode.OK, first.StatusCode);
        }

        long handshakes = validator.ValidationCount;

        // Fifteen minutes later by the server's clock, on the same connections.
        clock.Shift = TimeSpan.FromMinutes(15);
        using HttpResponseMessage expiredLeaf = await shortLived.GetAsync(invoices);
        using HttpResponseMessage expiredCas = await shortLivedCas.GetAsync(invoices);
        using HttpResponseMessage stillValid = await longLived.GetAsync(invoices);

        Assert.AreEqual(HttpStatusCode.Unauthorized, expiredLeaf.StatusCode, "the caller's own certificate expired");
        Assert.AreEqual(HttpStatusCode.Unauthorized, expiredCas.StatusCode, "the caller's certificate is in date, its CAs are not");
        Assert.AreEqual(HttpStatusCode.OK, stillValid.StatusCode);
        Assert.AreEqual("hello spiffe://example.org/orders", await stillValid.Content.ReadAsStringAsync());
        Assert.AreEqual(handshakes, validator.ValidationCount, "no new handshake: the requests went over the connections already open");
        Assert.IsTrue(billing.Logs.Contains(1202, "Expired (the caller's certificate or one of its CAs expired during the connection.)"), "the refusal is logged with its reason");
        Assert.IsTrue(billing.Logs.Contains(1400, "Expired"), "and audited as a denial with that reason");
    }
}
