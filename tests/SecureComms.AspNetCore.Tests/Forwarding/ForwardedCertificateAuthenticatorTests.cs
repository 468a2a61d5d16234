using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Forwarding;

/// <summary>
/// The forwarded certificate on real Kestrel: RFC 9440 <c>Client-Cert</c> with <c>Client-Cert-Chain</c> from a proxy
/// trusted by its SPIFFE ID, a kept verdict that never outlives the exact headers it was made for, a malformed header
/// from a trusted proxy refused with its reason, and every header from a peer that is not a trusted proxy ignored.
/// </summary>
[TestClass]
public sealed class ForwardedCertificateAuthenticatorTests
{
    private static readonly SpiffeId Ingress = SpiffeId.Parse("spiffe://example.org/ingress");

    private static string ByteSequence(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) => $":{Convert.ToBase64String(certificate.RawData)}:";

    private static Task<SecureServiceHost> StartBillingAsync(string format, params string[] trustedProxies)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SecureComms:Server:PlaintextEndpoints:proxy:Url"] = "http://127.0.0.1:0",
            ["SecureComms:Server:ForwardedCertificates:Format"] = format,
        };
        for (int i = 0; i < trustedProxies.Length; i++)
        {
            settings[$"SecureComms:Server:ForwardedCertificates:TrustedProxies:{i}"] = trustedProxies[i];
        }

        return SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => $"hello {ctx.GetCallerSpiffeId()}").RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            settings);
    }

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient client, Uri address, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/invoices"));
        foreach ((string name, string value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using HttpResponseMessage response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [TestMethod]
    public async Task ClientCertWithItsChain_FromAProxyTrustedByItsSpiffeId_AuthenticatesTheForwardedWorkload()
    {
        await using SecureServiceHost billing = await StartBillingAsync("ClientCert", Ingress.ToString());
        using DevelopmentCertificateAuthority intermediate = TestPki.Ca.CreateIntermediate();
        WorkloadCertificate orders = intermediate.IssueSvid(TestPki.Orders);
        using HttpClient ingress = TestClients.RawClient(TestPki.Issue(Ingress).Certificate);

        (HttpStatusCode status, string body) withChain = await SendAsync(
            ingress, billing.BaseAddress, ("Client-Cert", ByteSequence(orders.Certificate)), ("Client-Cert-Chain", ByteSequence(intermediate.Certificate)));
        (HttpStatusCode status, string _) withoutChain = await SendAsync(ingress, billing.BaseAddress, ("Client-Cert", ByteSequence(orders.Certificate)));

        Assert.AreEqual(HttpStatusCode.OK, withChain.status, withChain.body);
        Assert.AreEqual("hello spiffe://example.org/orders", withChain.body);
        Assert.AreEqual(
            HttpStatusCode.Unauthorized,
            withoutChain.status,
            "the same Client-Cert without the intermediate does not chain to the bundle: the verdict kept for the first request was for both headers");
    }

    [TestMethod]
    public async Task ClientCertWithoutItsChain_IsRefused_AndTheRefusalIsNotKeptForTheRequestThatBringsTheChain()
    {
        await using SecureServiceHost billing = await StartBillingAsync("ClientCert", Ingress.ToString());
        using DevelopmentCertificateAuthority intermediate = TestPki.Ca.CreateIntermediate();
        WorkloadCertificate orders = intermediate.IssueSvid(TestPki.Orders);
        using HttpClient ingress = TestClients.RawClient(TestPki.Issue(Ingress).Certificate);

        (HttpStatusCode status, string _) withoutChain = await SendAsync(ingress, billing.BaseAddress, ("Client-Cert", ByteSequence(orders.Certificate)));
        (HttpStatusCode status, string body) withChain = await SendAsync(
            ingress, billing.BaseAddress, ("Client-Cert", ByteSequence(orders.Certificate)), ("Client-Cert-Chain", ByteSequence(intermediate.Certificate)));

        Assert.AreEqual(HttpStatusCode.Unauthorized, withoutChain.status);
        Assert.AreEqual(HttpStatusCode.OK, withChain.status, withChain.body);
    }

    [TestMethod]
    public async Task TwoWorkloads_ForwardedWithTheSameChain_EachGetsTheVerdictOfItsOwnCertificate()
    {
        await using SecureServiceHost billing = await StartBillingAsync("ClientCert", Ingress.ToString());
        using DevelopmentCertificateAuthority intermediate = TestPki.Ca.CreateIntermediate();
        using HttpClient ingress = TestClients.RawClient(TestPki.Issue(Ingress).Certificate);
        (string, string) chain = ("Client-Cert-Chain", ByteSequence(intermediate.Certificate));

        (HttpStatusCode status, string body) orders = await SendAsync(
            ingress, billing.BaseAddress, ("Client-Cert", ByteSequence(intermediate.IssueSvid(TestPki.Orders).Certificate)), chain);
        (HttpStatusCode status, string body) analytics = await SendAsync(
            ingress, billing.BaseAddress, ("Client-Cert", ByteSequence(intermediate.IssueSvid(TestPki.Analytics).Certificate)), chain);

        Assert.AreEqual(HttpStatusCode.OK, orders.status, orders.body);
        Assert.AreEqual(
            HttpStatusCode.Forbidden,
            analytics.status,
            "analytics is not orders: a verdict is kept for the certificate and its chain together, never for the chain alone");
    }

    [TestMethod]
    public async Task TheSameWorkload_ForwardedWithAnotherChain_IsValidatedAgain()
    {
        await using SecureServiceHost billing = await StartBillingAsync("ClientCert", Ingress.ToString());
        using DevelopmentCertificateAuthority intermediate = TestPki.Ca.CreateIntermediate();
        using DevelopmentCertificateAuthority unrelated = TestPki.Ca.CreateIntermediate();
        using HttpClient ingress = TestClients.RawClient(TestPki.Issue(Ingress).Certificate);
        (string, string) orders = ("Client-Cert", ByteSequence(intermediate.IssueSvid(TestPki.Orders).Certificate));

        (HttpStatusCode status, string body) withItsChain = await SendAsync(
            ingress, billing.BaseAddress, orders, ("Client-Cert-Chain", ByteSequence(intermediate.Certificate)));
        (HttpStatusCode status, string _) withAnotherChain = await SendAsync(
            ingress, billing.BaseAddress, orders, ("Client-Cert-Chain", ByteSequence(unrelated.Certificate)));

        Assert.AreEqual(HttpStatusCode.OK, withItsChain.status, withItsChain.body);
        Assert.AreEqual(
            HttpStatusCode.Unauthorized,
            withAnotherChain.status,
            "an intermediate that did not issue the certificate does not complete its path: the first request's verdict was for its own chain");
    }

    [TestMethod]
    public async Task MalformedHeader_FromATrustedProxy_Gets401_WithItsReasonLogged()
    {
        await using SecureServiceHost billing = await StartBillingAsync("ClientCert", Ingress.ToString());
        using HttpClient ingress = TestClients.RawClient(TestPki.Issue(Ingress).Certificate);

        (HttpStatusCode status, string _) = await SendAsync(ingress, billing.BaseAddress, ("Client-Cert", "not-a-byte-sequence"));

        Assert.AreEqual(HttpStatusCode.Unauthorized, status);
        Assert.IsTrue(billing.Logs.Contains(1205, "forwarded by spiffe://example.org/ingress: Malformed"), "the proxy and the reason are logged");
        Assert.IsTrue(billing.Logs.Contains(1400, "ForwardedCertificateMalformed"), "the audit event carries the forwarded certificate's own reason");
    }

    [TestMethod]
    public async Task TwoClientCertValues_FromATrustedProxy_AreRefused_NotEitherOneChosen()
    {
        await using SecureServiceHost billing = await StartBillingAsync("ClientCert", Ingress.ToString());
        using HttpClient ingress = TestClients.RawClient(TestPki.Issue(Ingress).Certificate);
        string orders = ByteSequence(TestPki.Issue(TestPki.Orders).Certificate);

        (HttpStatusCode single, string _) = await SendAsync(ingress, billing.BaseAddress, ("Client-Cert", orders));
        (HttpStatusCode twice, string _) = await SendAsync(ingress, billing.BaseAddress, ("Client-Cert", orders), ("Client-Cert", ByteSequence(TestPki.Issue(TestPki.Analytics).Certificate)));

        Assert.AreEqual(HttpStatusCode.OK, single);
        Assert.AreEqual(HttpStatusCode.Unauthorized, twice, "two values are one malformed header, not the kept verdict of the first value");
    }

    [TestMethod]
    public async Task PlaintextPeer_OutsideTheTrustedNetworks_IsIgnored_AndLoggedByItsAddress()
    {
        await using SecureServiceHost billing = await StartBillingAsync("NginxEscapedPem", "10.0.0.0/8", Ingress.ToString());
        Uri plaintext = new(billing.App.Urls.First(u => u.StartsWith("http://", StringComparison.Ordinal)));
        using var client = new HttpClient();

        (HttpStatusCode status, string body) = await SendAsync(client, plaintext, ("X-Client-Cert", Uri.EscapeDataString(TestPki.Issue(TestPki.Orders).Certificate.ExportCertificatePem())));

        Assert.AreEqual(HttpStatusCode.Unauthorized, status, "no caller identity: the header of an untrusted peer counts for nothing");
        Assert.Contains("A valid caller identity is required.", body, "the problem details say what is missing");
        Assert.IsTrue(billing.Logs.Contains(1204, "from 127.0.0.1, which is not a trusted proxy"));
    }

    [TestMethod]
    public async Task MutualTlsPeer_AtATrustedAddress_IsNotATrustedProxy()
    {
        // 127.0.0.1 is trusted for plaintext connections only: over mTLS the peer is known by its SPIFFE ID, and analytics is no proxy.
        await using SecureServiceHost billing = await StartBillingAsync("NginxEscapedPem", "127.0.0.1");
        using HttpClient analytics = TestClients.RawClient(TestPki.Issue(TestPki.Analytics).Certificate);

        (HttpStatusCode status, string _) = await SendAsync(analytics, billing.BaseAddress, ("X-Client-Cert", Uri.EscapeDataString(TestPki.Issue(TestPki.Orders).Certificate.ExportCertificatePem())));

        Assert.AreEqual(HttpStatusCode.Forbidden, status, "the caller is analytics, as its own certificate says");
        Assert.IsTrue(billing.Logs.Contains(1204, "from spiffe://example.org/analytics, which is not a trusted proxy"));
    }

    [TestMethod]
    public async Task HeaderOfAnotherFormat_IsNotRead()
    {
        // Configured for XFCC: a Client-Cert header from the trusted proxy is not a forwarded certificate, the proxy stays the caller.
        await using SecureServiceHost billing = await StartBillingAsync("EnvoyXfcc", Ingress.ToString());
        using HttpClient ingress = TestClients.RawClient(TestPki.Issue(Ingress).Certificate);

        (HttpStatusCode status, string _) = await SendAsync(ingress, billing.BaseAddress, ("Client-Cert", ByteSequence(TestPki.Issue(TestPki.Orders).Certificate)));

        Assert.AreEqual(HttpStatusCode.Forbidden, status, "the caller is ingress itself");
        Assert.IsFalse(billing.Logs.Contains(1205, "ingress"));
    }
}
