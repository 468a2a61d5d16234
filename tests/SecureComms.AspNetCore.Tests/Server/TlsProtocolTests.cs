using Microsoft.AspNetCore.Builder;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Server;

/// <summary>Only TLS 1.2 and 1.3 are spoken, checked with a real openssl client that is willing to speak TLS 1.1.</summary>
[TestClass]
public sealed class TlsProtocolTests
{
    [TestMethod]
    [DataRow("-tls1_1", "TLSv1.1", false, DisplayName = "TLS 1.1 is refused")]
    [DataRow("-tls1_2", "TLSv1.2", true, DisplayName = "TLS 1.2 is accepted")]
    [DataRow("-tls1_3", "TLSv1.3", true, DisplayName = "TLS 1.3 is accepted")]
    public async Task ServerSpeaksOnlyTls12AndTls13(string protocolFlag, string protocolName, bool accepted)
    {
        OpenSsl.RequireOrSkip();
        await using SecureServiceHost host = await SecureServiceHost.StartAsync(
            app => app.MapGet("/", () => "ok").AllowAnonymous(),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        using var dir = new TemporaryFolder();
        string cert = Path.Combine(dir.Path, "orders.pem");
        string key = Path.Combine(dir.Path, "orders.key");
        string root = Path.Combine(dir.Path, "root.pem");
        DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(TestPki.Orders), cert, key);
        TestPki.Ca.WriteTrustBundlePem(root);

        // SECLEVEL=0 lets the openssl client offer TLS 1.1 at all, so a refusal is the server's.
        (int exitCode, string output) = await OpenSsl.RunAsync(
            $"s_client -connect 127.0.0.1:{host.BaseAddress.Port} {protocolFlag} -cipher DEFAULT@SECLEVEL=0 -cert {cert} -key {key} -CAfile {root} -brief -ign_eof",
            standardInput: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        if (accepted)
        {
            // Kestrel closes without a TLS close_notify, which openssl reports as an error exit; the exchange itself succeeded.
            Assert.Contains($"Protocol version: {protocolName}", output);
            Assert.Contains("HTTP/1.1 200 OK", output);
        }
        else
        {
            Assert.AreNotEqual(0, exitCode, output);
            Assert.Contains("protocol version", output, "the server answered with a protocol_version alert");
        }
    }
}
