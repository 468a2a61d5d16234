using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;
using SecureComms.Tests.Fakes;

namespace SecureComms.Tests.Certificates;

/// <summary>The workload SVID from PEM, PKCS#12 and the store, rotating without a restart and never going backwards.</summary>
[TestClass]
public sealed class ReloadingCertificateSourceTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");
    private static readonly Lazy<DevelopmentCertificateAuthority> Root = new(() => DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org")));
    private static readonly Lazy<DevelopmentCertificateAuthority> Intermediate = new(() => Root.Value.CreateIntermediate());

    private static ReloadingCertificateSource PemSource(string cert, string key, ListLogger logger, TimeSpan? polling = null) =>
        new($"PEM files '{cert}' and '{key}'", [cert, key], () => CertificateLoaders.LoadPem(cert, key, null), polling ?? TimeSpan.FromMilliseconds(100), TimeProvider.System, logger);

    [TestMethod]
    public void PemFiles_LoadTheLeafWithItsIntermediates()
    {
        using var dir = new TempDirectory();
        WorkloadCertificate issued = Intermediate.Value.IssueSvid(Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(issued, dir.File("svid.pem"), dir.File("svid.key"));

        using ReloadingCertificateSource source = PemSource(dir.File("svid.pem"), dir.File("svid.key"), new ListLogger());

        Assert.AreEqual(Orders, source.Current.SpiffeId);
        Assert.AreEqual(issued.Sha256Thumbprint, source.Current.Sha256Thumbprint);
        Assert.IsTrue(source.Current.Certificate.HasPrivateKey);
        Assert.AreEqual(1, source.Current.Intermediates.Count);
        Assert.AreEqual(Intermediate.Value.Certificate.Thumbprint, source.Current.Intermediates[0].Thumbprint);
    }

    [TestMethod]
    public void MissingKeyFile_FailsNamingTheFile()
    {
        using var dir = new TempDirectory();
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("svid.pem"), dir.File("svid.key"));
        File.Delete(dir.File("svid.key"));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => PemSource(dir.File("svid.pem"), dir.File("svid.key"), new ListLogger()));

        StringAssert.Contains(error.Message, dir.File("svid.key"));
        StringAssert.Contains(error.Message, "not found");
    }

    [TestMethod]
    public void CertificateAndKeyThatDoNotBelongTogether_FailNamingBothFiles()
    {
        using var dir = new TempDirectory();
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("a.pem"), dir.File("a.key"));
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("b.pem"), dir.File("b.key"));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => PemSource(dir.File("a.pem"), dir.File("b.key"), new ListLogger()));

        StringAssert.Contains(error.Message, dir.File("a.pem"));
        StringAssert.Contains(error.Message, dir.File("b.key"));
    }

    [TestMethod]
    public void CertificateWithoutASpiffeId_IsRefused()
    {
        using var dir = new TempDirectory();
        X509Certificate2 noUri = Root.Value.IssueDefective(Orders, SvidDefect.NoUriSan);
        DevelopmentCertificateAuthority.WriteCertificatePem(noUri, null, dir.File("svid.pem"), dir.File("svid.key"));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => PemSource(dir.File("svid.pem"), dir.File("svid.key"), new ListLogger()));

        StringAssert.Contains(error.Message, "not a usable X.509-SVID");
    }

    [TestMethod]
    public void ExpiredCertificate_IsRefusedAtStartup()
    {
        using var dir = new TempDirectory();
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueDefective(Orders, SvidDefect.Expired), null, dir.File("svid.pem"), dir.File("svid.key"));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => PemSource(dir.File("svid.pem"), dir.File("svid.key"), new ListLogger()));

        StringAssert.Contains(error.Message, "expired");
    }

    [TestMethod]
    public async Task RewrittenFiles_AreUsedWithoutRestart_AndTheChangeTokenFires()
    {
        using var dir = new TempDirectory();
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("svid.pem"), dir.File("svid.key"));
        using ReloadingCertificateSource source = PemSource(dir.File("svid.pem"), dir.File("svid.key"), new ListLogger());
        bool fired = false;
        source.GetChangeToken().RegisterChangeCallback(_ => fired = true, null);

        WorkloadCertificate rotated = Root.Value.IssueSvid(Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(rotated, dir.File("svid.pem"), dir.File("svid.key"));

        await WaitUntilAsync(() => source.Current.Sha256Thumbprint == rotated.Sha256Thumbprint);
        Assert.IsTrue(fired, "the change token fired");
    }

    [TestMethod]
    public async Task KubernetesStyleSymlinkSwap_IsPickedUp()
    {
        // A mounted secret: svid.pem -> ..data/svid.pem, ..data -> ..2026_v1; an update writes ..2026_v2 and swaps ..data.
        using var dir = new TempDirectory();
        string v1 = dir.File("..v1");
        string v2 = dir.File("..v2");
        Directory.CreateDirectory(v1);
        Directory.CreateDirectory(v2);
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), Path.Combine(v1, "svid.pem"), Path.Combine(v1, "svid.key"));
        File.CreateSymbolicLink(dir.File("..data"), v1);
        File.CreateSymbolicLink(dir.File("svid.pem"), Path.Combine("..data", "svid.pem"));
        File.CreateSymbolicLink(dir.File("svid.key"), Path.Combine("..data", "svid.key"));
        using ReloadingCertificateSource source = PemSource(dir.File("svid.pem"), dir.File("svid.key"), new ListLogger());

        WorkloadCertificate rotated = Root.Value.IssueSvid(Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(rotated, Path.Combine(v2, "svid.pem"), Path.Combine(v2, "svid.key"));
        File.CreateSymbolicLink(dir.File("..data_tmp"), v2);
        using (Process rename = Process.Start("mv", ["-T", dir.File("..data_tmp"), dir.File("..data")])!) // atomic rename(2), as the kubelet does
        {
            await rename.WaitForExitAsync();
            Assert.AreEqual(0, rename.ExitCode);
        }

        await WaitUntilAsync(() => source.Current.Sha256Thumbprint == rotated.Sha256Thumbprint);
    }

    [TestMethod]
    [DataRow("half-written certificate", DisplayName = "half-written certificate file")]
    [DataRow("mismatched pair", DisplayName = "certificate and key that do not match")]
    [DataRow("expired", DisplayName = "expired replacement")]
    public async Task BadReplacement_IsIgnored_TheLastGoodCertificateStays_AndAWarningIsLogged(string defect)
    {
        using var dir = new TempDirectory();
        WorkloadCertificate good = Root.Value.IssueSvid(Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(good, dir.File("svid.pem"), dir.File("svid.key"));
        var logger = new ListLogger();
        using ReloadingCertificateSource source = PemSource(dir.File("svid.pem"), dir.File("svid.key"), logger);

        switch (defect)
        {
            case "half-written certificate":
                string pem = await File.ReadAllTextAsync(dir.File("svid.pem"));
                await File.WriteAllTextAsync(dir.File("svid.pem"), pem[..(pem.Length / 2)]);
                break;
            case "mismatched pair":
                DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("other.pem"), dir.File("other.key"));
                File.Copy(dir.File("other.key"), dir.File("svid.key"), overwrite: true);
                break;
            default:
                DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueDefective(Orders, SvidDefect.Expired), null, dir.File("svid.pem"), dir.File("svid.key"));
                break;
        }

        await WaitUntilAsync(() => logger.Entries.Any(e => e.EventId == 1001));
        Assert.AreEqual(good.Sha256Thumbprint, source.Current.Sha256Thumbprint, "the last good certificate is still served");
    }

    [TestMethod]
    public void Pkcs12File_LoadsTheLeafKeyAndIntermediates()
    {
        using var dir = new TempDirectory();
        WorkloadCertificate issued = Intermediate.Value.IssueSvid(Orders);
        var bundle = new X509Certificate2Collection { issued.Certificate, Intermediate.Value.Certificate, Root.Value.Certificate };
        File.WriteAllBytes(dir.File("svid.p12"), bundle.Export(X509ContentType.Pkcs12, "secret")!);

        WorkloadCertificate loaded = CertificateLoaders.LoadPkcs12(dir.File("svid.p12"), "secret");

        Assert.AreEqual(issued.Sha256Thumbprint, loaded.Sha256Thumbprint);
        Assert.IsTrue(loaded.Certificate.HasPrivateKey);
        Assert.AreEqual(1, loaded.Intermediates.Count, "the self-signed root is left out");
    }

    [TestMethod]
    public void Pkcs12File_WithAWrongPassword_FailsNamingTheFile()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("svid.p12"), Root.Value.IssueSvid(Orders).Certificate.Export(X509ContentType.Pkcs12, "secret"));

        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => CertificateLoaders.LoadPkcs12(dir.File("svid.p12"), "wrong"));

        StringAssert.Contains(error.Message, dir.File("svid.p12"));
    }

    [TestMethod]
    public void CertificateStore_FindsTheSvidByThumbprint()
    {
        WorkloadCertificate issued = Root.Value.IssueSvid(Orders);
        using var persisted = X509CertificateLoader.LoadPkcs12(issued.Certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.PersistKeySet | X509KeyStorageFlags.Exportable);
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(persisted);
        try
        {
            WorkloadCertificate loaded = CertificateLoaders.LoadFromStore(StoreName.My, StoreLocation.CurrentUser, persisted.Thumbprint);

            Assert.AreEqual(issued.Sha256Thumbprint, loaded.Sha256Thumbprint);
            Assert.IsTrue(loaded.Certificate.HasPrivateKey);
        }
        finally
        {
            store.Remove(persisted);
        }
    }

    [TestMethod]
    public void CertificateStore_WithAnUnknownThumbprint_FailsClearly()
    {
        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(
            () => CertificateLoaders.LoadFromStore(StoreName.My, StoreLocation.CurrentUser, "00112233445566778899AABBCCDDEEFF00112233"));

        StringAssert.Contains(error.Message, "00112233445566778899AABBCCDDEEFF00112233");
    }

    [TestMethod]
    public void InMemorySource_RotatesAndSignals()
    {
        using var source = new InMemoryCertificateSource(Root.Value.IssueSvid(Orders));
        bool fired = false;
        source.GetChangeToken().RegisterChangeCallback(_ => fired = true, null);
        WorkloadCertificate next = Root.Value.IssueSvid(Orders);

        source.Update(next);

        Assert.AreSame(next, source.Current);
        Assert.IsTrue(fired);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.IsTrue(watch.Elapsed < TimeSpan.FromSeconds(10), "not reached within 10 s");
            await Task.Delay(20);
        }
    }
}
