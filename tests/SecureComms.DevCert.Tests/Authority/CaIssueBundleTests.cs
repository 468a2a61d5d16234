using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using SecureComms.Testing;

namespace SecureComms.DevCert.Tests;

[TestClass]
public sealed class CaIssueBundleTests
{
    private static readonly TrustDomain ExampleOrg = TrustDomain.Parse(SavedCa.TrustDomainName);

    [TestMethod]
    [DataRow("bundle.pem", TrustBundleFormat.Pem)]
    [DataRow("bundle.jwks.json", TrustBundleFormat.SpiffeBundle)]
    public void IssuedSvid_IsValidForTheLibrary_AgainstTheExportedBundle(string bundleFile, TrustBundleFormat format)
    {
        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);

        TrustBundle bundle = DevelopmentCertificateAuthority.LoadTrustBundle(ExampleOrg, folder.File(bundleFile), format);
        using var source = new InMemoryTrustBundleSource(bundle);
        using var svid = X509Certificate2.CreateFromPemFile(folder.File("orders.pem"), folder.File("orders.key"));

        Assert.IsTrue(svid.HasPrivateKey, "the key file holds the certificate's key");
        foreach (PeerSide side in (PeerSide[])[PeerSide.Client, PeerSide.Server])
        {
            SvidValidationResult result = DevelopmentCertificateAuthority.ValidateSvid(svid, null, source, side);
            Assert.IsTrue(result.IsValid, $"{side}: {result}");
            Assert.AreEqual(SpiffeId.Parse(SavedCa.OrdersId), result.SpiffeId);
        }
    }

    [TestMethod]
    [DataRow("bundle.pem", TrustBundleFormat.Pem)]
    [DataRow("bundle.jwks.json", TrustBundleFormat.SpiffeBundle)]
    public void SvidOfAnotherCa_IsUntrustedByTheExportedBundle(string bundleFile, TrustBundleFormat format)
    {
        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);
        using var other = DevelopmentCertificateAuthority.Create(ExampleOrg);
        WorkloadCertificate foreign = other.IssueSvid(SpiffeId.Parse(SavedCa.OrdersId));

        TrustBundle bundle = DevelopmentCertificateAuthority.LoadTrustBundle(ExampleOrg, folder.File(bundleFile), format);
        using var source = new InMemoryTrustBundleSource(bundle);
        SvidValidationResult result = DevelopmentCertificateAuthority.ValidateSvid(foreign.Certificate, foreign.Intermediates, source, PeerSide.Client);

        Assert.AreEqual(SvidValidationFailure.UntrustedRoot, result.Failure, result.ToString());
    }

    [TestMethod]
    public void JwksBundle_IsInTheSpiffeBundleFormat_WithTheSameAuthorityAsThePem()
    {
        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);

        JsonNode root = JsonNode.Parse(File.ReadAllText(folder.File("bundle.jwks.json")))!;
        Assert.AreEqual(300, root["spiffe_refresh_hint"]!.GetValue<long>());
        JsonArray keys = root["keys"]!.AsArray();
        Assert.HasCount(1, keys);
        Assert.AreEqual("x509-svid", keys[0]!["use"]!.GetValue<string>());
        Assert.AreEqual("EC", keys[0]!["kty"]!.GetValue<string>());
        JsonArray x5c = keys[0]!["x5c"]!.AsArray();
        Assert.HasCount(1, x5c);

        using X509Certificate2 pemAuthority = PemFiles.FirstCertificate(folder.File("bundle.pem"));
        Assert.AreSequenceEqual(pemAuthority.RawData, Convert.FromBase64String(x5c[0]!.GetValue<string>()));
        using X509Certificate2 caCertificate = PemFiles.FirstCertificate(folder.File("ca.pem"));
        Assert.AreEqual(caCertificate.Thumbprint, pemAuthority.Thumbprint, "the bundle holds the saved CA's root");
    }

    [TestMethod]
    public void RefreshHint_IsWrittenInSeconds()
    {
        using var folder = new TemporaryFolder();
        SavedCa.Require(DevCertRun.Of("ca", "create", "--trust-domain", "example.org", "--out", folder.Path));
        SavedCa.Require(DevCertRun.Of("bundle", "--ca", folder.Path, "--out", folder.Path, "--refresh-hint", "1h"));

        JsonNode root = JsonNode.Parse(File.ReadAllText(folder.File("bundle.jwks.json")))!;
        Assert.AreEqual(3600, root["spiffe_refresh_hint"]!.GetValue<long>());
    }

    [TestMethod]
    public void PrivateKeys_AreOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("Unix file modes only.");
            return;
        }

        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);

        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(folder.File("ca.key")));
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(folder.File("orders.key")));
    }

    [TestMethod]
    public void OutputFolder_IsCreatedOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("Unix file modes only.");
            return;
        }

        using var folder = new TemporaryFolder();
        string certs = folder.File("certs");
        SavedCa.Require(DevCertRun.Of("ca", "create", "--trust-domain", "example.org", "--out", certs));

        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(certs));
    }

    [TestMethod]
    public void SecondIssueWithoutForce_IsRefused_AndLeavesTheKeyUntouched()
    {
        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);
        byte[] key = File.ReadAllBytes(folder.File("orders.key"));
        byte[] certificate = File.ReadAllBytes(folder.File("orders.pem"));

        DevCertRun run = DevCertRun.Of("issue", "--ca", folder.Path, "--spiffe-id", SavedCa.OrdersId, "--out", folder.Path);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("already exists", run.Error);
        Assert.Contains("--force", run.Error);
        Assert.AreSequenceEqual(key, File.ReadAllBytes(folder.File("orders.key")));
        Assert.AreSequenceEqual(certificate, File.ReadAllBytes(folder.File("orders.pem")));
    }

    [TestMethod]
    public void IssueWithForce_ReplacesTheKey_StillOwnerOnly()
    {
        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);
        byte[] key = File.ReadAllBytes(folder.File("orders.key"));

        DevCertRun run = DevCertRun.Of("issue", "--ca", folder.Path, "--spiffe-id", SavedCa.OrdersId, "--out", folder.Path, "--force");

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.AreNotSequenceEqual(key, File.ReadAllBytes(folder.File("orders.key")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(folder.File("orders.key")));
        }
    }

    [TestMethod]
    public void SecondCaCreateWithoutForce_IsRefused_AndLeavesTheCaUntouched()
    {
        using var folder = new TemporaryFolder();
        SavedCa.Require(DevCertRun.Of("ca", "create", "--trust-domain", "example.org", "--out", folder.Path));
        byte[] key = File.ReadAllBytes(folder.File("ca.key"));

        DevCertRun run = DevCertRun.Of("ca", "create", "--trust-domain", "example.org", "--out", folder.Path);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("--force", run.Error);
        Assert.AreSequenceEqual(key, File.ReadAllBytes(folder.File("ca.key")));
    }

    [TestMethod]
    public void IssueNamedLikeTheCa_IsRefusedEvenWithForce()
    {
        using var folder = new TemporaryFolder();
        SavedCa.Require(DevCertRun.Of("ca", "create", "--trust-domain", "example.org", "--out", folder.Path));
        byte[] key = File.ReadAllBytes(folder.File("ca.key"));

        DevCertRun run = DevCertRun.Of("issue", "--ca", folder.Path, "--spiffe-id", "spiffe://example.org/ca", "--out", folder.Path, "--force");

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.AreSequenceEqual(key, File.ReadAllBytes(folder.File("ca.key")));
    }

    [TestMethod]
    [DataRow("spiffe://other.org/orders", "not in the CA's trust domain")]
    [DataRow("spiffe://example.org", "names a trust domain")]
    [DataRow("https://example.org/orders", "--spiffe-id")]
    public void IssueForABadSpiffeId_IsAUsageError_AndWritesNothing(string id, string expected)
    {
        using var folder = new TemporaryFolder();
        SavedCa.Require(DevCertRun.Of("ca", "create", "--trust-domain", "example.org", "--out", folder.Path));

        DevCertRun run = DevCertRun.Of("issue", "--ca", folder.Path, "--spiffe-id", id, "--out", folder.Path, "--name", "svid");

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains(expected, run.Error);
        Assert.IsFalse(File.Exists(folder.File("svid.key")));
    }

    [TestMethod]
    public void IssueOutlivingTheCa_IsRefused()
    {
        using var folder = new TemporaryFolder();
        SavedCa.Require(DevCertRun.Of("ca", "create", "--trust-domain", "example.org", "--out", folder.Path, "--lifetime", "2d"));

        DevCertRun run = DevCertRun.Of("issue", "--ca", folder.Path, "--spiffe-id", SavedCa.OrdersId, "--out", folder.Path, "--lifetime", "3d");

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains("outlives the CA", run.Error);
        Assert.IsFalse(File.Exists(folder.File("orders.key")));
    }

    [TestMethod]
    public void IssueWithoutACa_SaysHowToCreateOne()
    {
        using var folder = new TemporaryFolder();

        DevCertRun run = DevCertRun.Of("issue", "--ca", folder.Path, "--spiffe-id", SavedCa.OrdersId, "--out", folder.Path);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("ca create", run.Error);
    }

    [TestMethod]
    public void IssueWithLifetime_IsValidForThatLong()
    {
        using var folder = new TemporaryFolder();
        SavedCa.Require(DevCertRun.Of("ca", "create", "--trust-domain", "example.org", "--out", folder.Path));
        SavedCa.Require(DevCertRun.Of("issue", "--ca", folder.Path, "--spiffe-id", SavedCa.OrdersId, "--out", folder.Path, "--lifetime", "2h", "--name", "short"));

        using X509Certificate2 svid = PemFiles.FirstCertificate(folder.File("short.pem"));
        TimeSpan remaining = svid.NotAfter.ToUniversalTime() - DateTime.UtcNow;
        Assert.IsGreaterThan(TimeSpan.FromHours(1.9), remaining);
        Assert.IsLessThanOrEqualTo(TimeSpan.FromHours(2), remaining);
    }

    [TestMethod]
    public void Commands_NeverPrintKeyMaterial()
    {
        using var folder = new TemporaryFolder();
        var runs = new List<DevCertRun>
        {
            DevCertRun.Of("ca", "create", "--trust-domain", "example.org", "--out", folder.Path),
            DevCertRun.Of("issue", "--ca", folder.Path, "--spiffe-id", SavedCa.OrdersId, "--out", folder.Path),
            DevCertRun.Of("bundle", "--ca", folder.Path, "--out", folder.Path),
            DevCertRun.Of("inspect", folder.File("orders.pem"), "--bundle", folder.File("bundle.pem")),
        };

        string keyBody = File.ReadAllLines(folder.File("orders.key"))[1];
        string caKeyBody = File.ReadAllLines(folder.File("ca.key"))[1];
        foreach (DevCertRun run in runs)
        {
            Assert.AreEqual(0, run.ExitCode, run.ToString());
            string all = run.Output + run.Error;
            Assert.DoesNotContain("PRIVATE KEY", all);
            Assert.DoesNotContain(keyBody, all);
            Assert.DoesNotContain(caKeyBody, all);
        }
    }

    [TestMethod]
    public void SavedCa_LoadsBack_AndRefusesAKeyOfAnotherCa()
    {
        using var folder = new TemporaryFolder();
        using (var authority = DevelopmentCertificateAuthority.Create(ExampleOrg))
        {
            authority.SavePem(folder.File("ca.pem"), folder.File("ca.key"));
            using var loaded = DevelopmentCertificateAuthority.LoadPem(folder.File("ca.pem"), folder.File("ca.key"));
            Assert.AreEqual(ExampleOrg, loaded.TrustDomain);
            Assert.AreEqual(authority.Certificate.Thumbprint, loaded.Certificate.Thumbprint);

            using var source = new InMemoryTrustBundleSource(authority.CreateTrustBundle());
            WorkloadCertificate svid = loaded.IssueSvid(SpiffeId.Parse(SavedCa.OrdersId));
            Assert.IsTrue(DevelopmentCertificateAuthority.ValidateSvid(svid.Certificate, svid.Intermediates, source, PeerSide.Server).IsValid);
        }

        using (var other = DevelopmentCertificateAuthority.Create(ExampleOrg))
        {
            other.SavePem(folder.File("other.pem"), folder.File("other.key"));
        }

        Assert.ThrowsExactly<InvalidDataException>(() => DevelopmentCertificateAuthority.LoadPem(folder.File("ca.pem"), folder.File("other.key")));
    }

    [TestMethod]
    public void SavedIntermediateCa_LoadsBack_WithItsChain()
    {
        using var folder = new TemporaryFolder();
        using var root = DevelopmentCertificateAuthority.Create(ExampleOrg);
        using var intermediate = root.CreateIntermediate();
        intermediate.SavePem(folder.File("ca.pem"), folder.File("ca.key"));

        using var loaded = DevelopmentCertificateAuthority.LoadPem(folder.File("ca.pem"), folder.File("ca.key"));
        WorkloadCertificate svid = loaded.IssueSvid(SpiffeId.Parse(SavedCa.OrdersId));
        using var source = new InMemoryTrustBundleSource(root.CreateTrustBundle());

        Assert.HasCount(1, svid.Intermediates);
        SvidValidationResult result = DevelopmentCertificateAuthority.ValidateSvid(svid.Certificate, svid.Intermediates, source, PeerSide.Client);
        Assert.IsTrue(result.IsValid, result.ToString());
        Assert.AreEqual(root.Certificate.Thumbprint, loaded.CreateTrustBundle().Authorities[0].Thumbprint);
    }
}
