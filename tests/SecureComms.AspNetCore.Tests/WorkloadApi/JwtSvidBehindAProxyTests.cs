using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.WorkloadApi;

/// <summary>
/// The <c>sub</c> = caller rule of JWT-SVIDs behind a trusted proxy, over real Kestrel and real mutual TLS: the caller
/// is the workload whose certificate the proxy forwards (Envoy XFCC), so a JWT-SVID is accepted only when its
/// <c>sub</c> names that workload, never the proxy or another workload sharing the proxy's connection.
/// </summary>
[TestClass]
public sealed class JwtSvidBehindAProxyTests
{
    private const string Audience = "spiffe://example.org/billing";
    private static readonly SpiffeId Ingress = SpiffeId.Parse("spiffe://example.org/ingress");
    private static DevelopmentJwtSigningKeys s_keys = null!;
    private static DevelopmentWorkloadApiServer s_billingAgent = null!;
    private static DevelopmentWorkloadApiServer s_ordersAgent = null!;
    private static DevelopmentWorkloadApiServer s_analyticsAgent = null!;
    private static DevelopmentWorkloadApiServer s_ingressAgent = null!;
    private static SecureServiceHost s_billing = null!;
    private static WorkloadCertificate s_orders = null!;
    private static WorkloadCertificate s_ingress = null!;
    private static int s_handlerRuns;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_orders = TestPki.Issue(TestPki.Orders);
        s_ingress = TestPki.Issue(Ingress);
        s_keys = new DevelopmentJwtSigningKeys();
        s_billingAgent = await StartAgentAsync(TestPki.Billing);
        s_ordersAgent = await StartAgentAsync(TestPki.Orders);
        s_analyticsAgent = await StartAgentAsync(TestPki.Analytics);
        s_ingressAgent = await StartAgentAsync(Ingress);
        s_billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) =>
            {
                Interlocked.Increment(ref s_handlerRuns);
                return $"{ctx.GetCallerSpiffeId()} with a JWT-SVID for {ctx.User.FindFirst("sub")?.Value}";
            }).RequireCaller("spiffe://example.org/orders", "spiffe://example.org/analytics"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:WorkloadApi:Socket"] = s_billingAgent.Socket,
                ["SecureComms:TokenValidation:AcceptJwtSvids"] = "true",
                ["SecureComms:TokenValidation:JwtSvidAudience"] = Audience,
                ["SecureComms:Server:ForwardedCertificates:Format"] = "EnvoyXfcc",
                ["SecureComms:Server:ForwardedCertificates:TrustedProxies:0"] = Ingress.ToString(),
            });
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        await s_billing.DisposeAsync();
        foreach (DevelopmentWorkloadApiServer agent in new[] { s_billingAgent, s_ordersAgent, s_analyticsAgent, s_ingressAgent })
        {
            await agent.DisposeAsync();
        }

        s_keys.Dispose();
    }

    [TestMethod]
    public async Task JwtSvidOfTheForwardedWorkload_Gets200_AsThatWorkload()
    {
        string token = await JwtSvidAsync(s_ordersAgent);

        using HttpResponseMessage response = await ViaIngressAsync(s_orders, token);

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        Assert.AreEqual("spiffe://example.org/orders with a JWT-SVID for spiffe://example.org/orders", await response.Content.ReadAsStringAsync());
    }

    public static IEnumerable<object[]> TokensOfAnotherWorkload()
    {
        yield return ["a JWT-SVID of another workload (analytics) forwarded with orders' certificate", "analytics"];
        yield return ["the proxy's own JWT-SVID forwarded with orders' certificate", "ingress"];
    }

    [TestMethod]
    [DynamicData(nameof(TokensOfAnotherWorkload))]
    public async Task JwtSvidOfAnotherWorkload_ThanTheForwardedOne_Gets401_JwtSvidSubjectIsNotCaller(string attack, string tokenOf)
    {
        string token = await JwtSvidAsync(tokenOf == "ingress" ? s_ingressAgent : s_analyticsAgent);
        int handlerRunsBefore = Volatile.Read(ref s_handlerRuns);

        using HttpResponseMessage response = await ViaIngressAsync(s_orders, token);

        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode, attack);
        Assert.Contains($"error_description=\"{AccessTokenFailure.Describe(AccessTokenFailure.JwtSvidSubjectIsNotCaller)}\"", response.Headers.WwwAuthenticate.ToString(), attack);
        Assert.AreEqual(handlerRunsBefore, Volatile.Read(ref s_handlerRuns), $"{attack}: the handler never ran");
        Assert.IsTrue(s_billing.Logs.Contains(1400, "denied spiffe://example.org/orders (user (none)) GET /invoices: JwtSvidSubjectIsNotCaller"), attack);
    }

    private static Task<DevelopmentWorkloadApiServer> StartAgentAsync(SpiffeId id) =>
        DevelopmentWorkloadApiServer.StartAsync(new DevelopmentWorkloadApiServerOptions { Authority = TestPki.Ca, SpiffeId = id, JwtSigningKeys = s_keys });

    private static async Task<string> JwtSvidAsync(DevelopmentWorkloadApiServer agent)
    {
        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(agent.Socket));
        return (await connection.FetchJwtSvidAsync([Audience], null, CancellationToken.None)).Svids[0].Svid;
    }

    /// <summary>A request sent by the ingress proxy over its own mutual TLS, forwarding <paramref name="caller"/>'s certificate.</summary>
    private static async Task<HttpResponseMessage> ViaIngressAsync(WorkloadCertificate caller, string token)
    {
        using HttpClient ingress = TestClients.RawClient(s_ingress.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s_billing.BaseAddress, "/invoices"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.TryAddWithoutValidation(
            "x-forwarded-client-cert",
            $"By={TestPki.Billing};Cert=\"{Uri.EscapeDataString(caller.Certificate.ExportCertificatePem())}\"");
        return await ingress.SendAsync(request);
    }
}
