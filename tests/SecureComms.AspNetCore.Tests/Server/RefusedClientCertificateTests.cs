using Microsoft.AspNetCore.Builder;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Server;

/// <summary>
/// What a caller and the operator see when the server refuses a client certificate, checked with the real openssl
/// client over TLS 1.2 and 1.3. On Linux, .NET 10's SslStream validates the client certificate after OpenSSL has
/// finished the handshake, so no TLS alert (<c>certificate_required</c>, <c>unknown_ca</c>, <c>certificate_expired</c>)
/// can be sent: the caller sees the connection closed, and the reason is in the server's event 1200. The README's
/// troubleshooting table says so; if a runtime update starts sending alerts, the pinned assertion below fails and the
/// table must change with it.
/// </summary>
[TestClass]
public sealed class RefusedClientCertificateTests
{
    private static SecureServiceHost s_billing = null!;
    private static TemporaryFolder s_files = null!;
    private static DevelopmentCertificateAuthority s_otherCa = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_files = new TemporaryFolder();
        s_otherCa = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        TestPki.Ca.WriteTrustBundlePem(Path.Combine(s_files.Path, "root.pem"));
        s_billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/", () => "ok").AllowAnonymous(),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        await s_billing.DisposeAsync();
        s_otherCa.Dispose();
        s_files.Dispose();
    }

    [TestMethod]
    [DataRow("none", "-tls1_2", "NoCertificate", DisplayName = "no certificate, TLS 1.2")]
    [DataRow("none", "-tls1_3", "NoCertificate", DisplayName = "no certificate, TLS 1.3")]
    [DataRow("other-ca", "-tls1_2", "UntrustedRoot", DisplayName = "certificate from another CA, TLS 1.2")]
    [DataRow("other-ca", "-tls1_3", "UntrustedRoot", DisplayName = "certificate from another CA, TLS 1.3")]
    [DataRow("expired", "-tls1_2", "Expired", DisplayName = "expired certificate, TLS 1.2")]
    [DataRow("expired", "-tls1_3", "Expired", DisplayName = "expired certificate, TLS 1.3")]
    public async Task ARefusedCertificate_ClosesTheConnectionWithoutAnAlert_AndTheServerLogsWhy(string presented, string protocol, string reason)
    {
        OpenSsl.RequireOrSkip();
        string arguments = $"s_client -connect 127.0.0.1:{s_billing.BaseAddress.Port} {protocol} -CAfile {Path.Combine(s_files.Path, "root.pem")} -brief -ign_eof";
        WorkloadCertificate? svid = presented switch
        {
            "other-ca" => s_otherCa.IssueSvid(TestPki.Orders),
            "expired" => new WorkloadCertificate(TestPki.Ca.IssueDefective(TestPki.Orders, SvidDefect.Expired), TestPki.Ca.Chain),
            _ => null,
        };
        if (svid is not null)
        {
            string cert = Path.Combine(s_files.Path, $"{presented}{protocol}.pem");
            string key = Path.Combine(s_files.Path, $"{presented}{protocol}.key");
            DevelopmentCertificateAuthority.WriteCertificatePem(svid, cert, key);
            arguments += $" -cert {cert} -key {key}";
        }

        (int exitCode, string output) = await OpenSsl.RunAsync(arguments, standardInput: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        Assert.AreNotEqual(0, exitCode, output);
        Assert.DoesNotContain("HTTP/1.1 200", output, "a refused caller never reaches HTTP");
        Assert.Contains("unexpected eof", output, "the platform now sends a TLS alert: update the README's troubleshooting table. " + output);

        // Logged in the validation callback, before the server closed the connection openssl waited on.
        Assert.IsTrue(s_billing.Logs.Contains(1200, $"client certificate {reason} "), $"the server logs event 1200 with reason {reason}");
    }
}
