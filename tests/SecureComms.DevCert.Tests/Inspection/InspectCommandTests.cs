using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;

namespace SecureComms.DevCert.Tests;

[TestClass]
public sealed class InspectCommandTests
{
    private static readonly TrustDomain ExampleOrg = TrustDomain.Parse("example.org");
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    [TestMethod]
    [DataRow("bundle.pem")]
    [DataRow("bundle.jwks.json")]
    public void IssuedSvid_IsReportedValid_WithItsDetails(string bundleFile)
    {
        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);

        DevCertRun run = DevCertRun.Of("inspect", folder.File("orders.pem"), "--bundle", folder.File(bundleFile));

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("SPIFFE ID:          spiffe://example.org/orders", run.Output);
        Assert.Contains("CN=orders", run.Output);
        Assert.Contains("valid until:", run.Output);
        Assert.Contains("DigitalSignature (critical)", run.Output);
        Assert.Contains("clientAuth, serverAuth", run.Output);
        Assert.Contains("ECDSA P-256", run.Output);
        Assert.AreEqual("valid X.509-SVID: yes", run.OutputLines[^1]);
    }

    [TestMethod]
    [DataRow(SvidDefect.Expired, "Expired")]
    [DataRow(SvidDefect.NotYetValid, "NotYetValid")]
    [DataRow(SvidDefect.CertificateAuthorityAsLeaf, "LeafIsCertificateAuthority")]
    [DataRow(SvidDefect.TwoUriSans, "MultipleUriSans")]
    [DataRow(SvidDefect.NoUriSan, "MissingUriSan")]
    [DataRow(SvidDefect.NoKeyUsage, "MissingDigitalSignature")]
    [DataRow(SvidDefect.KeyCertSignUsage, "ForbiddenKeyUsage")]
    [DataRow(SvidDefect.CrlSignUsage, "ForbiddenKeyUsage")]
    [DataRow(SvidDefect.TrustDomainIdAsWorkload, "TrustDomainIdAsWorkload")]
    [DataRow(SvidDefect.NotASpiffeUri, "InvalidSpiffeId")]
    public void DefectiveSvid_IsReportedInvalid_WithTheReason(SvidDefect defect, string reason)
    {
        using var folder = new TemporaryFolder();
        using var authority = DevelopmentCertificateAuthority.Create(ExampleOrg);
        authority.WriteTrustBundlePem(folder.File("bundle.pem"));
        using X509Certificate2 defective = authority.IssueDefective(Orders, defect);
        DevelopmentCertificateAuthority.WriteCertificatePem(defective, null, folder.File("bad.pem"), folder.File("bad.key"));

        DevCertRun run = DevCertRun.Of("inspect", folder.File("bad.pem"), "--bundle", folder.File("bundle.pem"));

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("valid X.509-SVID: no", run.Output);
        Assert.Contains($"as a client: {reason}: ", run.Output);
        Assert.Contains($"as a server: {reason}: ", run.Output);
    }

    [TestMethod]
    [DataRow("client", 1, "as a client: WrongExtendedKeyUsage")]
    [DataRow("server", 0, "valid X.509-SVID: yes")]
    [DataRow("both", 1, "as a client: WrongExtendedKeyUsage")]
    public void ServerOnlySvid_IsValidOnlyAsAServer(string side, int exitCode, string expected)
    {
        using var folder = new TemporaryFolder();
        using var authority = DevelopmentCertificateAuthority.Create(ExampleOrg);
        authority.WriteTrustBundlePem(folder.File("bundle.pem"));
        using X509Certificate2 serverOnly = authority.IssueDefective(Orders, SvidDefect.ServerAuthOnly);
        DevelopmentCertificateAuthority.WriteCertificatePem(serverOnly, null, folder.File("server.pem"), folder.File("server.key"));

        DevCertRun run = DevCertRun.Of("inspect", folder.File("server.pem"), "--bundle", folder.File("bundle.pem"), "--side", side);

        Assert.AreEqual(exitCode, run.ExitCode, run.ToString());
        Assert.Contains(expected, run.Output);
        Assert.DoesNotContain("as a server:", run.Output);
    }

    [TestMethod]
    public void SvidOfAnotherCa_IsReportedUntrusted()
    {
        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);
        using var other = DevelopmentCertificateAuthority.Create(ExampleOrg);
        DevelopmentCertificateAuthority.WriteCertificatePem(other.IssueSvid(Orders), folder.File("foreign.pem"), folder.File("foreign.key"));

        DevCertRun run = DevCertRun.Of("inspect", folder.File("foreign.pem"), "--bundle", folder.File("bundle.jwks.json"));

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("as a client: UntrustedRoot", run.Output);
    }

    [TestMethod]
    public void SvidWithIntermediate_IsValid_WhenTheFileCarriesTheChain()
    {
        using var folder = new TemporaryFolder();
        using var root = DevelopmentCertificateAuthority.Create(ExampleOrg);
        using var intermediate = root.CreateIntermediate();
        root.WriteTrustBundlePem(folder.File("bundle.pem"));
        DevelopmentCertificateAuthority.WriteCertificatePem(intermediate.IssueSvid(Orders), folder.File("orders.pem"), folder.File("orders.key"));

        DevCertRun run = DevCertRun.Of("inspect", folder.File("orders.pem"), "--bundle", folder.File("bundle.pem"));

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("intermediates:      1", run.Output);
    }

    [TestMethod]
    public void WithoutBundle_OnlyTheLeafIsChecked_AndSaysSo()
    {
        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);

        DevCertRun run = DevCertRun.Of("inspect", folder.File("orders.pem"));

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("leaf only", run.Output);
    }

    [TestMethod]
    public void WithoutBundle_ABadLeafIsStillReported()
    {
        using var folder = new TemporaryFolder();
        using var authority = DevelopmentCertificateAuthority.Create(ExampleOrg);
        using X509Certificate2 defective = authority.IssueDefective(Orders, SvidDefect.KeyCertSignUsage);
        DevelopmentCertificateAuthority.WriteCertificatePem(defective, null, folder.File("bad.pem"), folder.File("bad.key"));

        DevCertRun run = DevCertRun.Of("inspect", folder.File("bad.pem"));

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("ForbiddenKeyUsage", run.Output);
    }

    [TestMethod]
    public void MissingFile_FailsWithAMessage()
    {
        using var folder = new TemporaryFolder();

        DevCertRun run = DevCertRun.Of("inspect", folder.File("nope.pem"));

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("cannot read", run.Error);
    }

    [TestMethod]
    public void UnreadableBundle_FailsWithTheLibrarysReason()
    {
        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);
        File.WriteAllText(folder.File("broken.json"), "{ \"keys\": 3 }");

        DevCertRun run = DevCertRun.Of("inspect", folder.File("orders.pem"), "--bundle", folder.File("broken.json"));

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("'keys' array", run.Error);
    }
}
