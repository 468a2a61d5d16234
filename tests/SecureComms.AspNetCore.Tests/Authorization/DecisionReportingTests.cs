using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Authorization;

/// <summary>
/// What a denial tells the caller and the audit log, with real bound access tokens: a central-policy rule that fails
/// only on scopes answers RFC 6750 <c>insufficient_scope</c> naming them, and the audit event names an end user only
/// when one travels (a verified user context), never an access token's <c>sub</c>.
/// </summary>
[TestClass]
public sealed class DecisionReportingTests
{
    private const string Audience = "https://billing.example.org";
    private static TestIssuer s_issuer = null!;
    private static SecureServiceHost s_billing = null!;
    private static WorkloadCertificate s_orders = null!;
    private static TelemetryCapture s_telemetry = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_orders = TestPki.Issue(TestPki.Orders);
        s_issuer = await TestIssuer.StartAsync();
        s_billing = await SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/invoices", () => "invoices"); // the central policy decides
                app.MapPost("/invoices", () => "created");
                app.MapGet("/admin", () => "admin"); // no rule: denied
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = s_issuer.Issuer,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Audience,
                ["SecureComms:Authorization:Rules:0:Name"] = "orders-read",
                ["SecureComms:Authorization:Rules:0:Callers:0"] = "spiffe://example.org/orders",
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/invoices",
                ["SecureComms:Authorization:Rules:0:Methods:0"] = "GET",
                ["SecureComms:Authorization:Rules:0:Scopes:0"] = "invoices.read",
                ["SecureComms:Authorization:Rules:1:Name"] = "orders-write",
                ["SecureComms:Authorization:Rules:1:Callers:0"] = "spiffe://example.org/orders",
                ["SecureComms:Authorization:Rules:1:Paths:0"] = "/invoices",
                ["SecureComms:Authorization:Rules:1:Methods:0"] = "POST",
                ["SecureComms:Authorization:Rules:1:Scopes:0"] = "invoices.write",
                ["SecureComms:Authorization:Rules:1:Scopes:1"] = "invoices.audit",
            });
        s_telemetry = new TelemetryCapture(s_billing.App.Services.GetRequiredService<SecureCommsMetrics>().Meter);
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        s_telemetry.Dispose();
        await s_billing.DisposeAsync();
        await s_issuer.DisposeAsync();
    }

    [TestMethod]
    public async Task PolicyRuleMissingOnlyScopes_Answers403InsufficientScope_NamingTheRulesScopes()
    {
        string readOnly = s_issuer.Mint(Audience, s_orders, scope: "invoices.read");

        using HttpResponseMessage read = await SendAsync(HttpMethod.Get, readOnly);
        using HttpResponseMessage write = await SendAsync(HttpMethod.Post, readOnly);

        Assert.AreEqual(HttpStatusCode.OK, read.StatusCode, "the read rule's scope is granted");
        Assert.AreEqual(HttpStatusCode.Forbidden, write.StatusCode);
        Assert.AreEqual(
            "Bearer realm=\"SecureComms\", error=\"insufficient_scope\", scope=\"invoices.write invoices.audit\"",
            write.Headers.WwwAuthenticate.ToString(),
            "RFC 6750 §3.1: the scopes the write rule requires");
        Assert.IsTrue(s_billing.Logs.Contains(1400, "POST /invoices: InsufficientScope, rule orders-write (403)"), "the audit event names the reason and the rule");
        Assert.Contains(m => m.Has(SecureCommsTelemetry.Tags.Reason, SecureCommsTelemetry.Reasons.InsufficientScope), s_telemetry.Measurements(SecureCommsTelemetry.Instruments.AuthorizationDecisions), "counted as InsufficientScope");
    }

    [TestMethod]
    public async Task ClientCredentialsTokenWhoseSubIsNotItsClientId_NamesNoUser_InTheAuditEvent()
    {
        // As real servers issue them: node-oidc-provider and others put something else than the client id in sub.
        const string Subject = "8d1c6e0b-client-credentials-subject";
        string token = s_issuer.Mint(Audience, s_orders, scope: "invoices.read", subject: Subject);

        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, token, "/admin");

        Assert.AreEqual(HttpStatusCode.Forbidden, response.StatusCode, "no rule opens /admin");
        FakeLogRecord audit = s_billing.Logs.GetSnapshot().Single(e => e.Id.Id == 1400 && e.Message.Contains("/admin", StringComparison.Ordinal));
        Assert.AreEqual("SecureComms denied spiffe://example.org/orders (user (none)) GET /admin: NoMatchingRule, rule (none) (403)", audit.Message);
        Assert.DoesNotContain(Subject, audit.Message, "a token's sub is not an end user");
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpMethod method, string token, string path = "/invoices")
    {
        using HttpClient client = TestClients.RawClient(s_orders);
        using var request = new HttpRequestMessage(method, new Uri(s_billing.BaseAddress, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        HttpResponseMessage response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
