using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;

namespace SecureComms.Tests.Certificates;

/// <summary>
/// The workload SVID from the current user's personal store, by SHA-1 thumbprint (<c>Certificate:StoreThumbprint</c>,
/// through <see cref="ConfiguredCertificateSource"/> as <c>AddSecureComms</c> does).
/// </summary>
[TestClass]
public sealed class StoreCertificateSourceTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    private static ReloadingCertificateSource Open(string thumbprint, TimeProvider time, FakeLogger? logger = null) =>
        ConfiguredCertificateSource.Create(
            new WorkloadCertificateOptions { StoreThumbprint = thumbprint, StoreName = "My", StoreLocation = "CurrentUser" }, TimeSpan.FromSeconds(1), time, logger ?? new FakeLogger());

    [TestMethod]
    public void ACertificateInTheStore_IsFoundByThumbprint_EvenAsCopiedFromACertificateDialog()
    {
        var clock = new FakeTimeProvider();
        using var root = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"), clock);
        WorkloadCertificate issued = root.IssueSvid(Orders);
        using X509Certificate2 persisted = X509CertificateLoader.LoadPkcs12(issued.Certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.PersistKeySet);
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(persisted);
        var logger = new FakeLogger();
        try
        {
            // Lowercase, spaced, with the invisible left-to-right mark Windows' dialog copies along.
            string copied = "\u200E" + string.Join(' ', persisted.Thumbprint.ToLowerInvariant().Chunk(2).Select(c => new string(c)));
            using ReloadingCertificateSource source = Open(copied, clock, logger);

            Assert.AreEqual(issued.Sha256Thumbprint, source.Current.Sha256Thumbprint);
            Assert.IsTrue(source.Current.Certificate.HasPrivateKey);

            store.Remove(persisted);
            clock.Advance(TimeSpan.FromSeconds(1));

            Assert.AreEqual(issued.Sha256Thumbprint, source.Current.Sha256Thumbprint, "a removed certificate keeps serving");
            Assert.IsTrue(logger.Contains(1001, persisted.Thumbprint), "and is reported");
        }
        finally
        {
            store.Remove(persisted);
        }
    }

    [TestMethod]
    public void AnUnknownThumbprint_FailsNamingItAndTheStore()
    {
        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(
            () => Open("00112233445566778899AABBCCDDEEFF00112233", TimeProvider.System));

        Assert.AreEqual("no certificate with thumbprint 00112233445566778899AABBCCDDEEFF00112233 in the store CurrentUser/My.", error.Message);
    }

    [TestMethod]
    public void SomethingThatIsNotASha1Thumbprint_IsRefusedBeforeTheStoreIsOpened()
    {
        CertificateSourceException error = Assert.ThrowsExactly<CertificateSourceException>(() => Open("CN=orders", TimeProvider.System));

        Assert.Contains("is not a SHA-1 certificate thumbprint", error.Message);
    }
}
