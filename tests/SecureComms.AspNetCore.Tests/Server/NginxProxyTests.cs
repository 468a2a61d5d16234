using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecureComms.AspNetCore.Tests.Configuration;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Server;

/// <summary>
/// A legacy path behind a TLS-terminating proxy: real nginx does the mTLS and forwards <c>$ssl_client_escaped_cert</c>
/// to SecureComms' plaintext listener opened for the proxy; the forwarded identity is accepted from nginx only.
/// </summary>
[TestClass]
public sealed class NginxProxyTests
{
    [TestMethod]
    public async Task IdentityForwardedByNginx_IsAccepted_AndTheSameHeaderSentDirectly_IsRefused()
    {
        Nginx.RequireOrSkip();
        using var dir = new TemporaryFolder();
        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        WorkloadCertificate analytics = TestPki.Issue(TestPki.Analytics);
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => $"hello {ctx.GetCallerSpiffeId()}").RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Server:PlaintextEndpoints:proxy:Url"] = "http://127.0.0.1:0",
                ["SecureComms:Server:ForwardedCertificates:Format"] = "NginxEscapedPem",
                ["SecureComms:Server:ForwardedCertificates:HeaderName"] = "X-Client-Cert",
                ["SecureComms:Server:ForwardedCertificates:TrustedProxies:0"] = "127.0.0.1",
            });
        Uri plaintext = new(billing.App.Urls.First(u => u.StartsWith("http://", StringComparison.Ordinal)));
        DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(SpiffeId.Parse("spiffe://example.org/ingress")), Path.Combine(dir.Path, "ingress.pem"), Path.Combine(dir.Path, "ingress.key"));
        TestPki.Ca.WriteTrustBundlePem(Path.Combine(dir.Path, "ca.pem"));
        await using Nginx nginx = await Nginx.StartAsync(dir.Path, Path.Combine(dir.Path, "ingress.pem"), Path.Combine(dir.Path, "ingress.key"), Path.Combine(dir.Path, "ca.pem"), plaintext, "X-Client-Cert");

        using HttpClient viaNginx = TestClients.RawClient(orders.Certificate);
        HttpResponseMessage forwarded = await viaNginx.GetAsync(new Uri(nginx.Address, "/invoices"));

        // analytics calls billing directly over mTLS and claims, in the header, to be orders.
        using HttpClient direct = TestClients.RawClient(analytics.Certificate);
        using var spoof = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, "/invoices"));
        spoof.Headers.TryAddWithoutValidation("X-Client-Cert", Uri.EscapeDataString(orders.Certificate.ExportCertificatePem()));
        HttpResponseMessage spoofed = await direct.SendAsync(spoof);

        Assert.AreEqual(HttpStatusCode.OK, forwarded.StatusCode, await forwarded.Content.ReadAsStringAsync());
        Assert.AreEqual("hello spiffe://example.org/orders", await forwarded.Content.ReadAsStringAsync());
        Assert.AreEqual(HttpStatusCode.Forbidden, spoofed.StatusCode, "the header was ignored: the caller is analytics, not orders");
        Assert.IsTrue(billing.Logs.Contains(1204, "spiffe://example.org/analytics"), "the spoofing attempt is logged");
    }

    [TestMethod]
    public async Task ProxyTrustedByItsSpiffeId_ForwardsAnXfccIdentity_OverMutualTls()
    {
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => $"hello {ctx.GetCallerSpiffeId()}").RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Server:ForwardedCertificates:Format"] = "EnvoyXfcc",
                ["SecureComms:Server:ForwardedCertificates:TrustedProxies:0"] = "spiffe://example.org/ingress",
            });
        string xfcc = $"By=spiffe://example.org/billing;Cert=\"{Uri.EscapeDataString(TestPki.Issue(TestPki.Orders).Certificate.ExportCertificatePem())}\"";

        using HttpClient ingress = TestClients.RawClient(TestPki.Issue(SpiffeId.Parse("spiffe://example.org/ingress")).Certificate);
        using var viaProxy = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, "/invoices"));
        viaProxy.Headers.TryAddWithoutValidation("x-forwarded-client-cert", xfcc);
        HttpResponseMessage accepted = await ingress.SendAsync(viaProxy);

        using HttpClient analytics = TestClients.RawClient(TestPki.Issue(TestPki.Analytics).Certificate);
        using var spoof = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, "/invoices"));
        spoof.Headers.TryAddWithoutValidation("x-forwarded-client-cert", xfcc);
        HttpResponseMessage refused = await analytics.SendAsync(spoof);

        // A trusted proxy whose XFCC Hash does not match its Cert: refused, never half-trusted.
        string wrongHash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(TestPki.Issue(TestPki.Analytics).Certificate.RawData));
        using var tampered = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, "/invoices"));
        tampered.Headers.TryAddWithoutValidation("x-forwarded-client-cert", $"Hash={wrongHash};" + xfcc);
        HttpResponseMessage mismatch = await ingress.SendAsync(tampered);

        Assert.AreEqual(HttpStatusCode.OK, accepted.StatusCode);
        Assert.AreEqual("hello spiffe://example.org/orders", await accepted.Content.ReadAsStringAsync());
        Assert.AreEqual(HttpStatusCode.Unauthorized, mismatch.StatusCode, "XFCC Hash not matching Cert");
        Assert.IsTrue(billing.Logs.Contains(1205, "HashMismatch"));
        Assert.AreEqual(HttpStatusCode.Forbidden, refused.StatusCode, "analytics is not a trusted proxy: its header is ignored");
        Assert.IsTrue(billing.Logs.Contains(1204, "spiffe://example.org/analytics"));
    }

    [TestMethod]
    public async Task ForwardedCertificateFromAnUntrustedCa_IsRefusedLikeADirectOne()
    {
        Nginx.RequireOrSkip();
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", () => "secret").RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Server:PlaintextEndpoints:proxy:Url"] = "http://127.0.0.1:0",
                ["SecureComms:Server:ForwardedCertificates:Format"] = "NginxEscapedPem",
                ["SecureComms:Server:ForwardedCertificates:TrustedProxies:0"] = "127.0.0.1",
            });
        Uri plaintext = new(billing.App.Urls.First(u => u.StartsWith("http://", StringComparison.Ordinal)));
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(plaintext, "/invoices"));
        request.Headers.TryAddWithoutValidation("X-Client-Cert", Uri.EscapeDataString(TestPki.RogueCa.IssueSvid(TestPki.Orders).Certificate.ExportCertificatePem()));

        HttpResponseMessage response = await client.SendAsync(request);

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
