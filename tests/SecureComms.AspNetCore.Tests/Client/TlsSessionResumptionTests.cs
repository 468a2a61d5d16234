using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using SecureComms.AspNetCore.Tests.Configuration;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Client;

/// <summary>
/// TLS session resumption, measured by the peer: openssl's s_server reports each connection as "New" or "Reused",
/// and openssl's s_client -reconnect reports whether Kestrel resumed its sessions.
/// </summary>
[TestClass]
public sealed partial class TlsSessionResumptionTests
{
    [TestMethod]
    public async Task SecureClient_ResumesTlsSessions_AlsoAfterACertificateRotation()
    {
        OpenSsl.RequireOrSkip();
        using var dir = new TemporaryFolder();
        string serverCert = Path.Combine(dir.Path, "billing.pem");
        string serverKey = Path.Combine(dir.Path, "billing.key");
        string root = Path.Combine(dir.Path, "root.pem");
        DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(TestPki.Billing), serverCert, serverKey);
        TestPki.Ca.WriteTrustBundlePem(root);
        int port = OpenSsl.FreeLoopbackPort();
        using Process server = OpenSsl.Start($"s_server -accept 127.0.0.1:{port} -cert {serverCert} -key {serverKey} -CAfile {root} -Verify 1 -www");
        try
        {
            await OpenSsl.WaitForListenerAsync(port, TimeSpan.FromSeconds(10));
            var certificates = new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders));
            (var services, HttpClient client) = TestClients.SecureClient(certificates, "spiffe://example.org/billing", new Uri($"https://localhost:{port}/"));
            await using var _ = services;

            List<string> before = await ConnectManyTimesAsync(client, 6);
            certificates.Update(TestPki.Issue(TestPki.Orders));
            List<string> after = await ConnectManyTimesAsync(client, 6);

            Console.WriteLine($"before rotation: {string.Join(", ", before)}; after rotation: {string.Join(", ", after)}");
            Assert.AreEqual("New", before[0], "the first connection is a full handshake");
            Assert.AreEqual(5, before.Skip(1).Count(s => s == "Reused"), "every later connection resumed the session");
            Assert.AreEqual("New", after[0], "a rotated certificate starts a new session (it is bound to the old one)");
            Assert.AreEqual(5, after.Skip(1).Count(s => s == "Reused"), "and sessions resume again with the new certificate");
        }
        finally
        {
            server.Kill(entireProcessTree: true);
        }
    }

    [TestMethod]
    public async Task KestrelListener_ResumesTlsSessions()
    {
        OpenSsl.RequireOrSkip();
        await using SecureServiceHost host = await SecureServiceHost.StartAsync(
            app => app.MapGet("/", () => "ok").AllowAnonymous(),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        using var dir = new TemporaryFolder();
        string cert = Path.Combine(dir.Path, "orders.pem");
        string key = Path.Combine(dir.Path, "orders.key");
        DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(TestPki.Orders), cert, key);

        (int exitCode, string output) = await OpenSsl.RunAsync(
            $"s_client -connect 127.0.0.1:{host.BaseAddress.Port} -tls1_2 -reconnect -cert {cert} -key {key}");

        int reused = ReusedLine().Count(output);
        Console.WriteLine($"s_client -reconnect: {reused} of 5 reconnections reused the session");
        Assert.AreEqual(0, exitCode, output);
        Assert.AreEqual(5, reused, output);
    }

    private static async Task<List<string>> ConnectManyTimesAsync(HttpClient client, int count)
    {
        var sessions = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.ConnectionClose = true;
            request.Version = new Version(1, 1);
            using HttpResponseMessage response = await client.SendAsync(request);
            string page = await response.Content.ReadAsStringAsync();
            Match match = SessionLine().Match(page);
            Assert.IsTrue(match.Success, page);
            sessions.Add(match.Groups[1].Value);
        }

        return sessions;
    }

    [GeneratedRegex(@"\b(New|Reused), TLSv1\.[23]")]
    private static partial Regex SessionLine();

    [GeneratedRegex(@"^Reused, TLSv1\.2", RegexOptions.Multiline)]
    private static partial Regex ReusedLine();
}
