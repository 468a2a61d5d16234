using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;

namespace SecureComms.Tests.Certificates;

/// <summary>
/// Loading the workload SVID from PEM files at start-up (<c>Certificate:CertificatePath</c> and <c>KeyPath</c>, through
/// <see cref="ConfiguredCertificateSource"/> as <c>AddSecureComms</c> does): formats accepted, and failures that stop start-up.
/// </summary>
[TestClass]
public sealed class PemFileCertificateSourceTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");
    private static readonly Lazy<DevelopmentCertificateAuthority> Root = new(() => DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org")));
    private static readonly Lazy<DevelopmentCertificateAuthority> Intermediate = new(() => Root.Value.CreateIntermediate());

    internal static ReloadingCertificateSource Open(string cert, string key, FakeLogger? logger = null, string? password = null, TimeProvider? time = null) =>
        ConfiguredCertificateSource.Create(
            new WorkloadCertificateOptions { CertificatePath = cert, KeyPath = key, KeyPassword = password }, TimeSpan.FromMilliseconds(100), time ?? TimeProvider.System, logger ?? new FakeLogger());

    [TestMethod]
    public void ALeafWithItsIntermediate_LoadsWithAUsablePrivateKey_AndIsLogged()
    {
        using var dir = new TemporaryFolder();
        WorkloadCertificate issued = Intermediate.Value.IssueSvid(Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(issued, dir.File("svid.pem"), dir.File("svid.key"));
        var logger = new FakeLogger();

        using ReloadingCertificateSource source = Open(dir.File("svid.pem"), dir.File("svid.key"), logger);

        Assert.AreEqual(Orders, source.Current.SpiffeId);
        Assert.AreEqual(issued.Sha256Thumbprint, source.Current.Sha256Thumbprint);
        Assert.IsTrue(source.Current.Certificate.HasPrivateKey);
        using (ECDsa key = source.Current.Certificate.GetECDsaPrivateKey()!)
        {
            Assert.IsNotNull(key.SignData([1, 2, 3], HashAlgorithmName.SHA256), "the key can sign");
        }

        Assert.HasCount(1, source.Current.Intermediates);
        Assert.AreEqual(Intermediate.Value.Certificate.Thumbprint, source.Current.Intermediates[0].Thumbprint);
        Assert.IsTrue(logger.Contains(1000, "spiffe://example.org/orders"), "the load is logged with the SPIFFE ID");
        Assert.IsTrue(logger.Contains(1000, issued.Sha256Thumbprint[..16]), "and a thumbprint prefix");
        Assert.IsFalse(logger.Contains(1000, issued.Sha256Thumbprint), "but not the whole thumbprint");
    }

    [TestMethod]
    public void ARootAppendedToTheChainFile_IsNotSentAsAnIntermediate()
    {
        using var dir = new TemporaryFolder();
        WorkloadCertificate issued = Intermediate.Value.IssueSvid(Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(issued.Certificate, [.. issued.Intermediates, Root.Value.Certificate], dir.File("svid.pem"), dir.File("svid.key"));

        using ReloadingCertificateSource source = Open(dir.File("svid.pem"), dir.File("svid.key"));

        Assert.HasCount(1, source.Current.Intermediates);
    }

    [TestMethod]
    public void ASec1EcKey_IsAccepted()
    {
        using var dir = new TemporaryFolder();
        WorkloadCertificate issued = Root.Value.IssueSvid(Orders);
        File.WriteAllText(dir.File("svid.pem"), issued.Certificate.ExportCertificatePem());
        using (ECDsa key = issued.Certificate.GetECDsaPrivateKey()!)
        {
            File.WriteAllText(dir.File("svid.key"), key.ExportECPrivateKeyPem());
        }

        using ReloadingCertificateSource source = Open(dir.File("svid.pem"), dir.File("svid.key"));

        Assert.AreEqual(issued.Sha256Thumbprint, source.Current.Sha256Thumbprint);
    }

    [TestMethod]
    public void AnEncryptedPkcs8Key_IsDecryptedWithThePassword()
    {
        using var dir = new TemporaryFolder();
        WorkloadCertificate issued = Root.Value.IssueSvid(Orders);
        WriteEncrypted(issued, dir, "correct horse");

        using ReloadingCertificateSource source = Open(dir.File("svid.pem"), dir.File("svid.key"), password: "correct horse");

        Assert.AreEqual(issued.Sha256Thumbprint, source.Current.Sha256Thumbprint);
        Assert.IsTrue(source.Current.Certificate.HasPrivateKey);
    }

    [TestMethod]
    [DataRow(null, "encrypted but no key password is configured", DisplayName = "no password")]
    [DataRow("wrong", "is the key password right?", DisplayName = "wrong password")]
    public void AnEncryptedKey_WithoutTheRightPassword_FailsNamingTheKeyFile(string? password, string problem)
    {
        using var dir = new TemporaryFolder();
        WriteEncrypted(Root.Value.IssueSvid(Orders), dir, "correct horse");

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.pem"), dir.File("svid.key"), password: password));

        Assert.Contains(dir.File("svid.key"), error.Message);
        Assert.Contains(problem, error.Message);
    }

    [TestMethod]
    public void AnRsaCertificateWithAPkcs1Key_IsAccepted()
    {
        using var dir = new TemporaryFolder();
        using X509Certificate2 rsaSvid = CreateSelfSignedRsaSvid(Orders);
        File.WriteAllText(dir.File("svid.pem"), rsaSvid.ExportCertificatePem());
        using (RSA key = rsaSvid.GetRSAPrivateKey()!)
        {
            File.WriteAllText(dir.File("svid.key"), key.ExportRSAPrivateKeyPem());
        }

        using ReloadingCertificateSource source = Open(dir.File("svid.pem"), dir.File("svid.key"));

        Assert.AreEqual(Orders, source.Current.SpiffeId);
        Assert.IsTrue(source.Current.Certificate.HasPrivateKey);
    }

    [TestMethod]
    public void AMissingKeyFile_FailsNamingTheFile()
    {
        using var dir = new TemporaryFolder();
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("svid.pem"), dir.File("svid.key"));
        File.Delete(dir.File("svid.key"));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.pem"), dir.File("svid.key")));

        Assert.AreEqual($"cannot read the private key file '{dir.File("svid.key")}': file not found.", error.Message);
    }

    [TestMethod]
    public void AMissingCertificateFile_FailsNamingTheFile()
    {
        using var dir = new TemporaryFolder();

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.pem"), dir.File("svid.key")));

        Assert.AreEqual($"cannot read the certificate file '{dir.File("svid.pem")}': file not found.", error.Message);
    }

    [TestMethod]
    public void ACertificateAndKeyThatDoNotBelongTogether_FailNamingBothFiles()
    {
        using var dir = new TemporaryFolder();
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("a.pem"), dir.File("a.key"));
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("b.pem"), dir.File("b.key"));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("a.pem"), dir.File("b.key")));

        Assert.AreEqual($"the certificate in '{dir.File("a.pem")}' does not match the private key in '{dir.File("b.key")}'.", error.Message);
    }

    [TestMethod]
    public void AnEcCertificateWithAnRsaKey_FailsAsAMismatch()
    {
        using var dir = new TemporaryFolder();
        File.WriteAllText(dir.File("svid.pem"), Root.Value.IssueSvid(Orders).Certificate.ExportCertificatePem());
        using (var rsa = RSA.Create(2048))
        {
            File.WriteAllText(dir.File("svid.key"), rsa.ExportPkcs8PrivateKeyPem());
        }

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.pem"), dir.File("svid.key")));

        Assert.Contains("does not match the private key", error.Message);
        Assert.Contains("the certificate has an EC key, the key file an RSA key", error.Message);
    }

    [TestMethod]
    [DataRow("", "holds no PEM CERTIFICATE block", DisplayName = "empty certificate file")]
    [DataRow("truncate", "incomplete PEM block", DisplayName = "certificate file cut short")]
    public void AnUnusableCertificateFile_FailsNamingTheFileAndTheProblem(string content, string problem)
    {
        using var dir = new TemporaryFolder();
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("svid.pem"), dir.File("svid.key"));
        string pem = File.ReadAllText(dir.File("svid.pem"));
        File.WriteAllText(dir.File("svid.pem"), content == "truncate" ? pem[..(pem.Length / 2)] : content);

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.pem"), dir.File("svid.key")));

        Assert.Contains(dir.File("svid.pem"), error.Message);
        Assert.Contains(problem, error.Message);
    }

    [TestMethod]
    public void AKeyFileCutShort_FailsNamingTheFile()
    {
        using var dir = new TemporaryFolder();
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("svid.pem"), dir.File("svid.key"));
        string key = File.ReadAllText(dir.File("svid.key"));
        File.WriteAllText(dir.File("svid.key"), key[..(key.Length / 2)]);

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.pem"), dir.File("svid.key")));

        Assert.Contains(dir.File("svid.key"), error.Message);
        Assert.Contains("no complete PEM private key block", error.Message);
        Assert.DoesNotContain("MI", error.Message, "no key material in the message");
    }

    [TestMethod]
    public void ACertificateWithoutASpiffeId_IsRefused()
    {
        using var dir = new TemporaryFolder();
        using X509Certificate2 noUri = Root.Value.IssueDefective(Orders, SvidDefect.NoUriSan);
        DevelopmentCertificateAuthority.WriteCertificatePem(noUri, null, dir.File("svid.pem"), dir.File("svid.key"));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.pem"), dir.File("svid.key")));

        Assert.Contains("not a usable X.509-SVID", error.Message);
        Assert.Contains(dir.File("svid.pem"), error.Message);
    }

    [TestMethod]
    public void AnExpiredCertificate_IsRefusedAtStartup_ByTheSourcesClock()
    {
        var clock = new FakeTimeProvider();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"), clock);
        using var dir = new TemporaryFolder();
        DevelopmentCertificateAuthority.WriteCertificatePem(ca.IssueSvid(Orders, TimeSpan.FromMinutes(10)), dir.File("svid.pem"), dir.File("svid.key"));
        clock.Advance(TimeSpan.FromMinutes(11));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.pem"), dir.File("svid.key"), time: clock));

        Assert.Contains("expired", error.Message);
        Assert.Contains(dir.File("svid.pem"), error.Message);
    }

    private static void WriteEncrypted(WorkloadCertificate issued, TemporaryFolder dir, string password)
    {
        File.WriteAllText(dir.File("svid.pem"), issued.Certificate.ExportCertificatePem());
        using ECDsa key = issued.Certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(dir.File("svid.key"), key.ExportEncryptedPkcs8PrivateKeyPem(password, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10_000)));
    }

    internal static X509Certificate2 CreateSelfSignedRsaSvid(SpiffeId id)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=rsa-workload", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(id.ToString()));
        request.CertificateExtensions.Add(san.Build());
        using X509Certificate2 created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }
}
