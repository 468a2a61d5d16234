using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;

namespace SecureComms.Tests.Testing;

[TestClass]
public sealed class DevelopmentCertificateAuthorityTests
{
    private static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/ns/prod/sa/orders");

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void IssuedSvid_HasTheExtensionsTheX509SvidSpecRequires()
    {
        var clock = new FakeTimeProvider();
        using var ca = DevelopmentCertificateAuthority.Create(Domain, clock);

        WorkloadCertificate svid = ca.IssueSvid(Orders);
        X509Certificate2 leaf = svid.Certificate;

        Assert.AreEqual(Orders, svid.SpiffeId);
        Assert.IsTrue(leaf.HasPrivateKey);
        Assert.AreSequenceEqual(new[] { Orders.ToString() }, SvidInspector.GetUriSans(leaf));
        Assert.AreEqual(string.Empty, leaf.GetNameInfo(X509NameType.DnsFromAlternativeName, false));
        Assert.AreEqual("orders", leaf.GetNameInfo(X509NameType.SimpleName, false));

        X509BasicConstraintsExtension basic = leaf.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.IsFalse(basic.CertificateAuthority);
        Assert.IsTrue(basic.Critical);

        X509KeyUsageExtension keyUsage = leaf.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.AreEqual(X509KeyUsageFlags.DigitalSignature, keyUsage.KeyUsages);
        Assert.IsTrue(keyUsage.Critical);

        string?[] ekus = [.. leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value)];
        Assert.AreSequenceEqual(new[] { SvidSpec.ClientAuthOid, SvidSpec.ServerAuthOid }, ekus, SequenceOrder.InAnyOrder);

        Assert.AreEqual(clock.GetUtcNow() - TimeSpan.FromMinutes(5), svid.NotBefore);
        Assert.AreEqual(clock.GetUtcNow() + TimeSpan.FromHours(1), svid.NotAfter);
        Assert.IsEmpty(svid.Intermediates);
    }

    [TestMethod]
    public void Root_IsASelfSignedSigningCertificateOfItsTrustDomain()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);

        X509Certificate2 root = ca.Certificate;
        Assert.AreEqual(root.Subject, root.Issuer);
        Assert.IsFalse(root.HasPrivateKey);
        Assert.IsTrue(root.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.IsFalse(root.Extensions.OfType<X509BasicConstraintsExtension>().Single().HasPathLengthConstraint);
        Assert.AreEqual(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, root.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.AreSequenceEqual(new[] { "spiffe://example.org" }, SvidInspector.GetUriSans(root));
        Assert.IsEmpty(ca.Chain);
        Assert.AreEqual(root.Thumbprint, ca.CreateTrustBundle().Authorities.Single().Thumbprint);
    }

    [TestMethod]
    public void LeavesOfAnIntermediate_ComeWithTheIntermediateAsTheirChain()
    {
        using var root = DevelopmentCertificateAuthority.Create(Domain);
        using DevelopmentCertificateAuthority intermediate = root.CreateIntermediate();

        WorkloadCertificate svid = intermediate.IssueSvid(Orders);

        Assert.AreEqual(intermediate.Certificate.Thumbprint, svid.Intermediates.Single().Thumbprint);
        Assert.AreEqual(intermediate.Certificate.Subject, svid.Certificate.Issuer);
        Assert.AreEqual(root.Certificate.Subject, intermediate.Certificate.Issuer);
        Assert.AreEqual(root.Certificate.Thumbprint, intermediate.CreateTrustBundle().Authorities.Single().Thumbprint);
    }

    [TestMethod]
    public void CustomSpec_WritesTheUriSanVerbatim()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);

        using X509Certificate2 certificate = ca.IssueCertificate(new SvidSpec { UriSans = ["spiffe://example.org"], KeyUsage = null, ExtendedKeyUsageOids = null });

        Assert.AreSequenceEqual(new[] { "spiffe://example.org" }, SvidInspector.GetUriSans(certificate));
        Assert.IsEmpty(certificate.Extensions.OfType<X509KeyUsageExtension>());
        Assert.IsEmpty(certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>());
    }

    [TestMethod]
    public void PemFiles_RoundTripWithTheirKeyAndIntermediates()
    {
        using var root = DevelopmentCertificateAuthority.Create(Domain);
        using DevelopmentCertificateAuthority intermediate = root.CreateIntermediate();
        WorkloadCertificate svid = intermediate.IssueSvid(Orders);
        string directory = Directory.CreateTempSubdirectory("securecomms-ca-test-").FullName;
        try
        {
            string certificatePath = Path.Combine(directory, "svid.pem");
            string keyPath = Path.Combine(directory, "svid.key");
            string bundlePath = Path.Combine(directory, "bundle.pem");

            DevelopmentCertificateAuthority.WriteCertificatePem(svid, certificatePath, keyPath);
            root.WriteTrustBundlePem(bundlePath);

            using X509Certificate2 loaded = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            Assert.AreEqual(svid.Certificate.Thumbprint, loaded.Thumbprint);
            Assert.IsTrue(loaded.HasPrivateKey);

            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(certificatePath);
            Assert.HasCount(2, all);
            Assert.AreEqual(intermediate.Certificate.Thumbprint, all[1].Thumbprint);

            var bundle = new X509Certificate2Collection();
            bundle.ImportFromPemFile(bundlePath);
            Assert.AreEqual(root.Certificate.Thumbprint, bundle.Single().Thumbprint);

            Assert.IsEmpty(Directory.GetFiles(directory, "*.tmp"), "no temporary file is left behind");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void ReadCertificatePem_ReadsBackTheLeafWithItsKeyAndIntermediates_LeavingOutARootInTheFile()
    {
        using var root = DevelopmentCertificateAuthority.Create(Domain);
        using DevelopmentCertificateAuthority intermediate = root.CreateIntermediate();
        WorkloadCertificate svid = intermediate.IssueSvid(Orders);
        string directory = Directory.CreateTempSubdirectory("securecomms-ca-test-").FullName;
        try
        {
            string certificatePath = Path.Combine(directory, "svid.pem");
            string keyPath = Path.Combine(directory, "svid.key");

            // As some issuers write it: leaf, intermediate, then the root.
            DevelopmentCertificateAuthority.WriteCertificatePem(svid.Certificate, [intermediate.Certificate, root.Certificate], certificatePath, keyPath);
            WorkloadCertificate read = DevelopmentCertificateAuthority.ReadCertificatePem(certificatePath, keyPath);

            Assert.AreEqual(svid.Certificate.Thumbprint, read.Certificate.Thumbprint);
            Assert.IsTrue(read.Certificate.HasPrivateKey);
            Assert.AreEqual(Orders, read.SpiffeId);
            Assert.AreEqual(intermediate.Certificate.Thumbprint, read.Intermediates.Single().Thumbprint, "the root is left out");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void KeyFile_IsReadableByItsOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("Unix file modes only.");
            return;
        }

        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        string directory = Directory.CreateTempSubdirectory("securecomms-ca-test-").FullName;
        try
        {
            string keyPath = Path.Combine(directory, "svid.key");
            DevelopmentCertificateAuthority.WriteCertificatePem(ca.IssueSvid(Orders), Path.Combine(directory, "svid.pem"), keyPath);

            // Rewriting (rotation) keeps the mode: the file is replaced by a new 0600 file.
            DevelopmentCertificateAuthority.WriteCertificatePem(ca.IssueSvid(Orders), Path.Combine(directory, "svid.pem"), keyPath);

            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
