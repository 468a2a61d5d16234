using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using SecureComms.WorkloadApi.Protocol;
using static SecureComms.Tests.WorkloadApi.WorkloadApiTestBed;

namespace SecureComms.Tests.WorkloadApi;

/// <summary>Reading one <c>X509SVIDResponse</c>: which SVID is the default, how bundles are keyed, what is refused.</summary>
[TestClass]
public sealed class X509SvidResponseReaderTests
{
    private static readonly SpiffeId Internal = SpiffeId.Parse("spiffe://example.org/orders/internal");
    private static readonly SpiffeId External = SpiffeId.Parse("spiffe://example.org/orders/external");

    [TestMethod]
    public void WithoutAHint_TheFirstSvidIsTheDefault()
    {
        X509SvidUpdate update = Read(TwoSvids(), hint: null);

        Assert.AreEqual(Internal, update.Certificate.SpiffeId);
    }

    [TestMethod]
    public void WithAHint_TheSvidCarryingItIsSelected()
    {
        X509SvidUpdate update = Read(TwoSvids(), hint: "external");

        Assert.AreEqual(External, update.Certificate.SpiffeId);
        Assert.IsTrue(update.Certificate.Certificate.HasPrivateKey);
    }

    [TestMethod]
    public void AHintNoSvidCarries_IsRefused_NamingTheKeyAndTheHintsOffered()
    {
        Assert.IsFalse(X509SvidResponseReader.TryRead(TwoSvids(), "public", TimeProvider.System, out _, out string? reason));

        Assert.Contains("SecureComms:WorkloadApi:Hint", reason);
        Assert.Contains("'public'", reason);
        Assert.Contains("hint 'external'", reason);
    }

    [TestMethod]
    [DataRow("spiffe://partner.test")]
    [DataRow("partner.test")]
    public void FederatedBundles_AreKeyedByTrustDomainId_OrBareName(string key)
    {
        X509SVIDResponse response = TwoSvids();
        response.FederatedBundles.Add(key, ByteString.CopyFrom(PartnerAuthority.Certificate.RawData));

        X509SvidUpdate update = Read(response, hint: null);

        Assert.IsTrue(update.Bundles.TryGetBundle(TrustDomain.Parse("partner.test"), out TrustBundle? partner));
        Assert.AreEqual(PartnerAuthority.Certificate.Thumbprint, partner.Authorities[0].Thumbprint);
        Assert.HasCount(2, update.Bundles.Bundles);
    }

    [TestMethod]
    public void ConcatenatedDer_IsSplitIntoEachCertificate()
    {
        using DevelopmentCertificateAuthorityScope scope = new();
        WorkloadCertificate issued = scope.Intermediate.IssueSvid(Orders);
        byte[] chain = [.. issued.Certificate.RawData, .. scope.Intermediate.Certificate.RawData];
        var response = new X509SVIDResponse();
        response.Svids.Add(Svid(Orders, chain, Pkcs8(issued.Certificate), scope.Root.Certificate.RawData));

        X509SvidUpdate update = Read(response, hint: null);

        Assert.AreEqual(issued.Sha256Thumbprint, update.Certificate.Sha256Thumbprint);
        Assert.HasCount(1, update.Certificate.Intermediates);
        Assert.AreEqual(scope.Intermediate.Certificate.Thumbprint, update.Certificate.Intermediates[0].Thumbprint);
    }

    [TestMethod]
    public void AnEmptyResponse_IsRefused()
    {
        Assert.IsFalse(X509SvidResponseReader.TryRead(new X509SVIDResponse(), null, TimeProvider.System, out _, out string? reason));
        Assert.Contains("no X.509-SVID", reason);
    }

    [TestMethod]
    public void ALeafInTheBundle_IsRefused()
    {
        WorkloadCertificate issued = Authority.IssueSvid(Orders);
        var response = new X509SVIDResponse();
        response.Svids.Add(Svid(Orders, issued.Certificate.RawData, Pkcs8(issued.Certificate), issued.Certificate.RawData));

        Assert.IsFalse(X509SvidResponseReader.TryRead(response, null, TimeProvider.System, out _, out string? reason));
        Assert.Contains("is not a CA certificate", reason);
    }

    private static X509SvidUpdate Read(X509SVIDResponse response, string? hint)
    {
        Assert.IsTrue(X509SvidResponseReader.TryRead(response, hint, TimeProvider.System, out X509SvidUpdate? update, out string? reason), reason);
        return update;
    }

    private static X509SVIDResponse TwoSvids()
    {
        var response = new X509SVIDResponse();
        foreach ((SpiffeId id, string hint) in new[] { (Internal, "internal"), (External, "external") })
        {
            X509Certificate2 leaf = Authority.IssueSvid(id).Certificate;
            X509SVID svid = Svid(id, leaf.RawData, Pkcs8(leaf), Authority.Certificate.RawData);
            svid.Hint = hint;
            response.Svids.Add(svid);
        }

        return response;
    }

    private static X509SVID Svid(SpiffeId id, byte[] chain, byte[] key, byte[] bundle) => new()
    {
        SpiffeId = id.ToString(),
        X509Svid = ByteString.CopyFrom(chain),
        X509SvidKey = ByteString.CopyFrom(key),
        Bundle = ByteString.CopyFrom(bundle),
    };

    private sealed class DevelopmentCertificateAuthorityScope : IDisposable
    {
        public SecureComms.Testing.DevelopmentCertificateAuthority Root { get; } = SecureComms.Testing.DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));

        public SecureComms.Testing.DevelopmentCertificateAuthority Intermediate => field ??= Root.CreateIntermediate();

        public void Dispose()
        {
            Intermediate.Dispose();
            Root.Dispose();
        }
    }
}
