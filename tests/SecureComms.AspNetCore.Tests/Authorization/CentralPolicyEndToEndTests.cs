using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Authorization;

/// <summary>
/// The central policy through real Kestrel: request lines are written by hand over real TLS, so the client cannot
/// normalise a path trick away before it reaches the server.
/// </summary>
[TestClass]
public sealed class CentralPolicyEndToEndTests
{
    private static async Task<SecureServiceHost> StartAsync(bool dryRun = false) =>
        await SecureServiceHost.StartAsync(
            app => app.MapGet("/{**rest}", () => "served"), // no endpoint authorization: the central policy decides alone
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Authorization:DryRun"] = dryRun ? "true" : "false",
                ["SecureComms:Authorization:Rules:0:Name"] = "orders-everything",
                ["SecureComms:Authorization:Rules:0:Callers:0"] = "spiffe://example.org/orders",
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/*",
                ["SecureComms:Authorization:Rules:1:Name"] = "never-admin",
                ["SecureComms:Authorization:Rules:1:Action"] = "Deny",
                ["SecureComms:Authorization:Rules:1:Callers:0"] = "*",
                ["SecureComms:Authorization:Rules:1:Paths:0"] = "/admin/*",
                ["SecureComms:Authorization:Rules:2:Name"] = "watch-exports",
                ["SecureComms:Authorization:Rules:2:Action"] = "Audit",
                ["SecureComms:Authorization:Rules:2:Callers:0"] = "*",
                ["SecureComms:Authorization:Rules:2:Paths:0"] = "/exports/*",
            });

    [TestMethod]
    [DataRow("/invoices", 200, DisplayName = "allowed path")]
    [DataRow("/admin", 403, DisplayName = "denied path")]
    [DataRow("//admin", 403, DisplayName = "doubled slash")]
    [DataRow("/./admin", 403, DisplayName = "dot segment")]
    [DataRow("/x/../admin", 403, DisplayName = "dot-dot segment")]
    [DataRow("/%2Fadmin", 403, DisplayName = "encoded slash")]
    [DataRow("/admin%2fusers", 403, DisplayName = "encoded slash inside")]
    [DataRow("/ADMIN", 403, DisplayName = "upper case")]
    [DataRow("/Admin/", 403, DisplayName = "trailing slash")]
    [DataRow("/%61dmin", 403, DisplayName = "percent-encoded letter")]
    public async Task PathTricks_DoNotSlipPastADenyRule(string path, int expected)
    {
        await using SecureServiceHost billing = await StartAsync();

        int status = await RawGetAsync(billing.BaseAddress, path);

        Assert.AreEqual(expected, status, path);
    }

    [TestMethod]
    public async Task AuditRule_LogsTheRequest_WithoutDecidingIt()
    {
        await using SecureServiceHost billing = await StartAsync();

        int status = await RawGetAsync(billing.BaseAddress, "/exports/all");

        Assert.AreEqual(200, status, "orders-everything allows it; the audit rule only logs");
        Assert.IsTrue(billing.Logs.Contains(1412, "watch-exports"));
    }

    [TestMethod]
    public async Task DryRun_LetsTheRequestThrough_AndLogsWhatWouldHaveBeenDenied()
    {
        await using SecureServiceHost billing = await StartAsync(dryRun: true);

        int status = await RawGetAsync(billing.BaseAddress, "/admin/users");

        Assert.AreEqual(200, status);
        Assert.IsTrue(billing.Logs.Contains(1413, "would be denied (DeniedByRule, rule never-admin)"));
    }

    private static async Task<int> RawGetAsync(Uri server, string path)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "billing",
            ClientCertificates = [TestPki.Issue(TestPki.Orders).Certificate],
            RemoteCertificateValidationCallback = TestClients.ServerTrustedByTestCa,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        });
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: billing\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(tls, Encoding.ASCII);
        string statusLine = await reader.ReadLineAsync() ?? string.Empty;
        return int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
