using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;

namespace SecureComms.Tests.Certificates;

/// <summary>
/// The workload SVID from a PKCS#12 file (<c>Certificate:Pkcs12Path</c>, through <see cref="ConfiguredCertificateSource"/> as
/// <c>AddSecureComms</c> does): leaf found by its key, intermediates kept, roots left out.
/// </summary>
[TestClass]
public sealed class Pkcs12FileCertificateSourceTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    private static ReloadingCertificateSource Open(string path, string? password, TimeProvider time, FakeLogger? logger = null) =>
        ConfiguredCertificateSource.Create(new WorkloadCertificateOptions { Pkcs12Path = path, Pkcs12Password = password }, TimeSpan.FromMilliseconds(100), time, logger ?? new FakeLogger());

    private static void WritePkcs12(string path, DevelopmentCertificateAuthority root, DevelopmentCertificateAuthority intermediate, WorkloadCertificate leaf, string password)
    {
        // Root first and leaf last: the loader must not depend on the order.
        var contents = new X509Certificate2Collection { root.Certificate, intermediate.Certificate, leaf.Certificate };
        File.WriteAllBytes(path + ".tmp", contents.Export(X509ContentType.Pkcs12, password)!);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    [TestMethod]
    public void APkcs12File_LoadsTheLeafWithItsKey_AndTheIntermediate_ButNotTheRoot()
    {
        using var root = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using DevelopmentCertificateAuthority intermediate = root.CreateIntermediate();
        using var dir = new TemporaryFolder();
        WorkloadCertificate issued = intermediate.IssueSvid(Orders);
        WritePkcs12(dir.File("svid.p12"), root, intermediate, issued, "secret");

        using ReloadingCertificateSource source = Open(dir.File("svid.p12"), "secret", TimeProvider.System);

        Assert.AreEqual(issued.Sha256Thumbprint, source.Current.Sha256Thumbprint);
        Assert.IsTrue(source.Current.Certificate.HasPrivateKey);
        Assert.HasCount(1, source.Current.Intermediates, "the self-signed root is left out");
        Assert.AreEqual(intermediate.Certificate.Thumbprint, source.Current.Intermediates[0].Thumbprint);
    }

    [TestMethod]
    public void AWrongPassword_FailsNamingTheFile()
    {
        using var dir = new TemporaryFolder();
        using var root = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        File.WriteAllBytes(dir.File("svid.p12"), root.IssueSvid(Orders).Certificate.Export(X509ContentType.Pkcs12, "secret"));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.p12"), "wrong", TimeProvider.System));

        Assert.Contains($"cannot read the PKCS#12 file '{dir.File("svid.p12")}'", error.Message);
    }

    [TestMethod]
    public void AFileWithoutAPrivateKey_FailsNamingTheFile()
    {
        using var dir = new TemporaryFolder();
        using var root = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using X509Certificate2 publicOnly = X509CertificateLoader.LoadCertificate(root.IssueSvid(Orders).Certificate.RawData);
        File.WriteAllBytes(dir.File("svid.p12"), publicOnly.Export(X509ContentType.Pkcs12, "secret"));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.p12"), "secret", TimeProvider.System));

        Assert.AreEqual($"the PKCS#12 file '{dir.File("svid.p12")}' holds no certificate with a private key.", error.Message);
    }

    [TestMethod]
    public void AMissingFile_FailsNamingTheFile()
    {
        using var dir = new TemporaryFolder();

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open(dir.File("svid.p12"), null, TimeProvider.System));

        Assert.Contains(dir.File("svid.p12"), error.Message);
    }

    [TestMethod]
    public void AReplacedFile_IsPickedUpOnTheNextPoll()
    {
        var clock = new FakeTimeProvider();
        using var root = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"), clock);
        using DevelopmentCertificateAuthority intermediate = root.CreateIntermediate();
        using var dir = new TemporaryFolder();
        WritePkcs12(dir.File("svid.p12"), root, intermediate, intermediate.IssueSvid(Orders), "secret");
        var logger = new FakeLogger();
        using ReloadingCertificateSource source = Open(dir.File("svid.p12"), "secret", clock, logger);
        bool fired = false;
        source.GetChangeToken().RegisterChangeCallback(_ => fired = true, null);

        WorkloadCertificate rotated = intermediate.IssueSvid(Orders);
        WritePkcs12(dir.File("svid.p12"), root, intermediate, rotated, "secret");
        clock.Advance(TimeSpan.FromMilliseconds(100));
        clock.Advance(FileChangeMonitor.SettleDelay);

        Assert.AreEqual(rotated.Sha256Thumbprint, source.Current.Sha256Thumbprint);
        Assert.IsTrue(fired);
        Assert.IsTrue(logger.Contains(1000, "PKCS#12 file"));
    }
}
