using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Server;

/// <summary>Real Kestrel on loopback, real handshakes: who gets in, who does not, and what the handler sees.</summary>
[TestClass]
public sealed class MutualTlsEndToEndTests
{
    private static SecureServiceHost s_billing = null!;
    private static int s_requestsServed;

    [ClassInitialize]
    public static async Task StartBillingAsync(TestContext context)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SecureComms:Authorization:Rules:0:Name"] = "orders-reads-reports",
            ["SecureComms:Authorization:Rules:0:Callers:0"] = "spiffe://example.org/orders",
            ["SecureComms:Authorization:Rules:0:Paths:0"] = "/reports/*",
            ["SecureComms:Authorization:Rules:0:Methods:0"] = "GET",
        };
        s_billing = await SecureServiceHost.StartAsync(
            app =>
            {
                app.Use((ctx, next) =>
                {
                    Interlocked.Increment(ref s_requestsServed);
                    return next(ctx);
                });
                app.MapGet("/invoices", (HttpContext ctx) => $"hello {ctx.GetCallerSpiffeId()}").RequireCaller("spiffe://example.org/orders");
                app.MapGet("/reports/daily", (HttpContext ctx) => $"report for {ctx.User.Identity!.Name}");
                app.MapGet("/unprotected", () => "nobody should see this");
                app.MapGet("/healthz", () => "ok").AllowAnonymous();
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            settings);
    }

    [ClassCleanup]
    public static async Task StopBillingAsync() => await s_billing.DisposeAsync();

    [TestMethod]
    public async Task AllowedCaller_Gets200_AndTheHandlerSeesItsSpiffeId()
    {
        (var services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/billing", s_billing.BaseAddress);
        await using var _ = services;

        HttpResponseMessage response = await client.GetAsync(new Uri("/invoices", UriKind.Relative));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual("hello spiffe://example.org/orders", await response.Content.ReadAsStringAsync());
    }

    [TestMethod]
    public async Task CallerAllowedByAConfiguredRule_Gets200()
    {
        (var services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/billing", s_billing.BaseAddress);
        await using var _ = services;

        HttpResponseMessage response = await client.GetAsync(new Uri("/reports/daily", UriKind.Relative));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual("report for spiffe://example.org/orders", await response.Content.ReadAsStringAsync());
    }

    [TestMethod]
    [DataRow("/invoices", "NoMatchingRule, rule RequireCaller", DisplayName = "endpoint convention names another caller")]
    [DataRow("/reports/daily", "NoMatchingRule, rule (none)", DisplayName = "central rule names another caller")]
    [DataRow("/unprotected", "NoMatchingRule, rule (none)", DisplayName = "endpoint with no policy at all")]
    public async Task ValidCallerNotInThePolicy_Gets403_WithALoggedReason(string path, string reason)
    {
        (var services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Analytics)), "spiffe://example.org/billing", s_billing.BaseAddress);
        await using var _ = services;

        HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.AreEqual(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.IsTrue(
            s_billing.Logs.Contains(1400, $"spiffe://example.org/analytics (user (none)) GET {path}: {reason}"),
            "the denial is logged once with caller, method, route and reason");
    }

    [TestMethod]
    public async Task ConfiguredRule_OnlyOpensItsMethods()
    {
        (var services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/billing", s_billing.BaseAddress);
        await using var _ = services;

        HttpResponseMessage response = await client.PostAsync(new Uri("/reports/daily", UriKind.Relative), null);

        Assert.AreNotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.IsTrue((int)response.StatusCode is 403 or 405, $"got {response.StatusCode}");
    }

    [TestMethod]
    public async Task ChainIsBuiltOncePerConnection_RequestsOnlyLookTheVerdictUp()
    {
        var validator = (PeerCertificateValidator)s_billing.App.Services.GetService(typeof(PeerCertificateValidator))!;
        using HttpClient client = TestClients.RawClient(TestPki.Issue(TestPki.Orders).Certificate);
        client.DefaultRequestVersion = System.Net.HttpVersion.Version11;
        await client.GetAsync(new Uri(s_billing.BaseAddress, "/healthz")); // opens the connection: one handshake validation
        long afterHandshake = validator.ValidationCount;

        for (int i = 0; i < 20; i++)
        {
            using HttpResponseMessage response = await client.GetAsync(new Uri(s_billing.BaseAddress, "/invoices"));
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.AreEqual(afterHandshake, validator.ValidationCount, "20 requests on the open connection built no chain");
    }

    [TestMethod]
    public async Task ExplicitlyOpenedHealthEndpoint_AnswersAnyTrustedCaller()
    {
        using HttpClient client = TestClients.RawClient(TestPki.Issue(TestPki.Analytics).Certificate);

        HttpResponseMessage response = await client.GetAsync(new Uri(s_billing.BaseAddress, "/healthz"));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
    }

    [TestMethod]
    public async Task CallerWithoutClientCertificate_GetsNoResponse()
    {
        using HttpClient client = TestClients.RawClient(clientCertificate: null);
        int servedBefore = Volatile.Read(ref s_requestsServed);

        await Assert.ThrowsExactlyAsync<HttpRequestException>(() => client.GetAsync(new Uri(s_billing.BaseAddress, "/healthz")));

        Assert.AreEqual(servedBefore, Volatile.Read(ref s_requestsServed), "no request reached the application");
        Assert.IsTrue(s_billing.Logs.Contains(1200, "NoCertificate"));
    }

    public static IEnumerable<object[]> RejectedClientCertificates()
    {
        yield return ["certificate from another CA of the same trust domain name", (Func<X509Certificate2>)(() => TestPki.RogueCa.IssueSvid(TestPki.Orders).Certificate), "UntrustedRoot"];
        yield return ["certificate of a trust domain without a bundle", (Func<X509Certificate2>)(() => TestPki.OtherDomainCa.IssueSvid(SpiffeId.Parse("spiffe://other.org/orders")).Certificate), "UnknownTrustDomain"];
        yield return ["expired certificate", (Func<X509Certificate2>)(() => TestPki.Ca.IssueDefective(TestPki.Orders, SvidDefect.Expired)), "Expired"];
        yield return ["not yet valid certificate", (Func<X509Certificate2>)(() => TestPki.Ca.IssueDefective(TestPki.Orders, SvidDefect.NotYetValid)), "NotYetValid"];
        yield return ["CA certificate used as a leaf", (Func<X509Certificate2>)(() => TestPki.Ca.IssueDefective(TestPki.Orders, SvidDefect.CertificateAuthorityAsLeaf)), "LeafIsCertificateAuthority"];
        yield return ["two URI SANs", (Func<X509Certificate2>)(() => TestPki.Ca.IssueDefective(TestPki.Orders, SvidDefect.TwoUriSans)), "MultipleUriSans"];
        yield return ["no URI SAN", (Func<X509Certificate2>)(() => TestPki.Ca.IssueDefective(TestPki.Orders, SvidDefect.NoUriSan)), "MissingUriSan"];
        yield return ["server-only EKU used by a caller", (Func<X509Certificate2>)(() => TestPki.Ca.IssueDefective(TestPki.Orders, SvidDefect.ServerAuthOnly)), "WrongExtendedKeyUsage"];
    }

    [TestMethod]
    [DynamicData(nameof(RejectedClientCertificates))]
    public async Task BadClientCertificate_IsRefusedInTheHandshake(string attack, Func<X509Certificate2> certificate, string reason)
    {
        using HttpClient client = TestClients.RawClient(certificate());
        int servedBefore = Volatile.Read(ref s_requestsServed);

        await Assert.ThrowsExactlyAsync<HttpRequestException>(() => client.GetAsync(new Uri(s_billing.BaseAddress, "/healthz")), attack);

        Assert.AreEqual(servedBefore, Volatile.Read(ref s_requestsServed), $"{attack}: no request reached the application");
        Assert.IsTrue(s_billing.Logs.Contains(1200, reason), $"{attack}: handshake refusal logged with reason {reason}");
    }

    [TestMethod]
    public async Task ServerPresentingAnUnexpectedSpiffeId_IsRefusedBeforeTheRequestIsSent()
    {
        var clientLogs = new FakeLogCollector();
        (var services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/payments", s_billing.BaseAddress, logs: clientLogs);
        await using var _ = services;
        int servedBefore = Volatile.Read(ref s_requestsServed);

        HttpRequestException error = await Assert.ThrowsExactlyAsync<HttpRequestException>(() => client.GetAsync(new Uri("/invoices", UriKind.Relative)));

        Assert.AreEqual(servedBefore, Volatile.Read(ref s_requestsServed), "the request never reached the server");
        Assert.IsNotNull(error.InnerException, "the handshake failed");
        Assert.IsTrue(clientLogs.Contains(1301, "spiffe://example.org/billing"), "the refusal names the server's actual identity");
    }

    [TestMethod]
    public async Task SecureClient_RefusesAPlaintextAddress()
    {
        (var services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/billing", s_billing.BaseAddress);
        await using var _ = services;

        var plaintext = new UriBuilder(s_billing.BaseAddress) { Scheme = "http" }.Uri;
        InvalidOperationException error = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => client.GetAsync(new Uri(plaintext, "/invoices")));

        Assert.Contains("https", error.Message);
    }
}
