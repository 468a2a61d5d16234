using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Forwarding;

/// <summary>
/// Verdicts on forwarded certificates are kept per forwarded header, as the handshake verdict is per connection, but
/// never past a change of the trust bundles or the earliest expiry of the validated path, and never without bound.
/// </summary>
[TestClass]
public sealed class ForwardedCertificateVerdictsTests
{
    [TestMethod]
    public void ValidVerdict_IsKept_ForTheSameBundlesUntilItsPathExpires()
    {
        using InMemoryTrustBundleSource bundles = TestPki.Bundles();
        (X509Certificate2 certificate, SvidValidationResult result) = Validated(bundles);
        var verdicts = new ForwardedCertificateVerdicts();
        Sha256Key key = Sha256Key.Of("forwarded");
        verdicts.Add(key, bundles.Current, certificate, result, DateTimeOffset.UtcNow);

        Assert.IsTrue(verdicts.TryGet(key, bundles.Current, DateTimeOffset.UtcNow, out X509Certificate2? kept, out SvidValidationResult? keptResult));
        Assert.AreSame(certificate, kept);
        Assert.AreSame(result, keptResult);
        Assert.IsFalse(verdicts.TryGet(Sha256Key.Of("another header"), bundles.Current, DateTimeOffset.UtcNow, out _, out _), "another header");
        Assert.IsFalse(verdicts.TryGet(key, bundles.Current, result.ValidUntil!.Value, out _, out _), "at the path's earliest expiry");
        bundles.Update(new TrustBundleSet([TestPki.Ca.CreateTrustBundle()]));
        Assert.IsFalse(verdicts.TryGet(key, bundles.Current, DateTimeOffset.UtcNow, out _, out _), "a new bundle snapshot, even with the same CAs");
    }

    [TestMethod]
    public void InvalidVerdict_IsNeverKept()
    {
        using InMemoryTrustBundleSource bundles = TestPki.Bundles();
        var validator = new PeerCertificateValidator(bundles, TimeProvider.System);
        X509Certificate2 rogue = TestPki.RogueCa.IssueSvid(TestPki.Orders).Certificate;
        SvidValidationResult refused = validator.Validate(rogue, null, PeerSide.Client);
        Assert.IsFalse(refused.IsValid);
        var verdicts = new ForwardedCertificateVerdicts();

        verdicts.Add(Sha256Key.Of("rogue"), bundles.Current, rogue, refused, DateTimeOffset.UtcNow);

        Assert.AreEqual(0, verdicts.Count);
    }

    [TestMethod]
    public void Verdicts_AreBounded()
    {
        using InMemoryTrustBundleSource bundles = TestPki.Bundles();
        (X509Certificate2 certificate, SvidValidationResult result) = Validated(bundles);
        var verdicts = new ForwardedCertificateVerdicts(capacity: 8);

        for (int i = 0; i < 100; i++)
        {
            verdicts.Add(Sha256Key.Of("header " + i), bundles.Current, certificate, result, DateTimeOffset.UtcNow);
            Assert.IsLessThanOrEqualTo(8, verdicts.Count);
        }
    }

    [TestMethod]
    public void ThreeTimesTheCapacityInDistinctHeaders_KeepsTheVerdictOfTheHeaderAProxyKeepsForwarding()
    {
        using InMemoryTrustBundleSource bundles = TestPki.Bundles();
        (X509Certificate2 certificate, SvidValidationResult result) = Validated(bundles);
        var verdicts = new ForwardedCertificateVerdicts(capacity: 8);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        Sha256Key hot = Sha256Key.Of("the caller behind the proxy");
        verdicts.Add(hot, bundles.Current, certificate, result, now);

        for (int i = 0; i < 24; i++)
        {
            verdicts.Add(Sha256Key.Of("header " + i), bundles.Current, certificate, result, now);
            Assert.IsTrue(verdicts.TryGet(hot, bundles.Current, now, out _, out _), $"the hot verdict after {i + 1} other headers");
            Assert.IsLessThanOrEqualTo(8, verdicts.Count);
        }
    }

    [TestMethod]
    public void FullCache_MakesRoom_AndVerdictsWhosePathExpired_AreDroppedWhenFound()
    {
        using InMemoryTrustBundleSource bundles = TestPki.Bundles();
        (X509Certificate2 certificate, SvidValidationResult result) = Validated(bundles);
        var verdicts = new ForwardedCertificateVerdicts(capacity: 4);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        for (int i = 0; i < 4; i++)
        {
            verdicts.Add(Sha256Key.Of("header " + i), bundles.Current, certificate, result, now);
        }

        verdicts.Add(Sha256Key.Of("after expiry"), bundles.Current, certificate, result, result.ValidUntil!.Value.AddSeconds(-1));
        Assert.AreEqual(4, verdicts.Count, "nothing expired yet: unused verdicts made room");

        DateTimeOffset expiry = result.ValidUntil.Value;
        verdicts.Add(Sha256Key.Of("at expiry"), bundles.Current, certificate, result, expiry);
        Assert.AreEqual(4, verdicts.Count, "a verdict already expired is not kept");
        for (int i = 0; i < 4; i++)
        {
            Assert.IsFalse(verdicts.TryGet(Sha256Key.Of("header " + i), bundles.Current, expiry, out _, out _));
        }

        Assert.IsFalse(verdicts.TryGet(Sha256Key.Of("after expiry"), bundles.Current, expiry, out _, out _));
        Assert.AreEqual(0, verdicts.Count, "the expired verdicts went as they were looked up");
    }

    [TestMethod]
    public async Task ForwardedCertificate_AcceptedBefore_IsRefusedOnceItsCaLeavesTheBundle()
    {
        using InMemoryTrustBundleSource bundles = TestPki.Bundles();
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext context) => context.GetCallerSpiffeId().ToString()).RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            bundles,
            new Dictionary<string, string?>
            {
                ["SecureComms:Server:PlaintextEndpoints:proxy:Url"] = "http://127.0.0.1:0",
                ["SecureComms:Server:ForwardedCertificates:Format"] = "NginxEscapedPem",
                ["SecureComms:Server:ForwardedCertificates:TrustedProxies:0"] = "127.0.0.1",
            });
        Uri plaintext = new(billing.App.Urls.First(u => u.StartsWith("http://", StringComparison.Ordinal)));
        string forwarded = Uri.EscapeDataString(TestPki.Issue(TestPki.Orders).Certificate.ExportCertificatePem());
        using var client = new HttpClient();

        Assert.AreEqual(HttpStatusCode.OK, (await SendAsync(client, plaintext, forwarded)).StatusCode);
        Assert.AreEqual(HttpStatusCode.OK, (await SendAsync(client, plaintext, forwarded)).StatusCode, "the kept verdict");

        bundles.Update(new TrustBundleSet([TestPki.RogueCa.CreateTrustBundle()])); // the CA that issued orders' SVID is withdrawn

        Assert.AreEqual(HttpStatusCode.Unauthorized, (await SendAsync(client, plaintext, forwarded)).StatusCode);
    }

    private static (X509Certificate2 Certificate, SvidValidationResult Result) Validated(ITrustBundleSource bundles)
    {
        X509Certificate2 certificate = TestPki.Issue(TestPki.Orders).Certificate;
        SvidValidationResult result = new PeerCertificateValidator(bundles, TimeProvider.System).Validate(certificate, null, PeerSide.Client);
        Assert.IsTrue(result.IsValid, result.Detail);
        return (certificate, result);
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, Uri plaintext, string forwarded)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(plaintext, "/invoices"));
        request.Headers.TryAddWithoutValidation("X-Client-Cert", forwarded);
        return client.SendAsync(request);
    }
}
