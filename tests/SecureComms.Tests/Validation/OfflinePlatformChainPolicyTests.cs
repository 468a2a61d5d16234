using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;

namespace SecureComms.Tests.Validation;

/// <summary>
/// The policy of the platform's own chain build during the handshake: it must trust nothing by itself, reach no network
/// and check no revocation, since SecureComms decides with the peer's trust-domain bundle afterwards.
/// </summary>
[TestClass]
public sealed class OfflinePlatformChainPolicyTests
{
    [TestMethod]
    public void Policy_TrustsOnlyAnEmptyCustomStore_AndStaysOffline()
    {
        X509ChainPolicy policy = OfflinePlatformChainPolicy.Create();

        Assert.AreEqual(X509ChainTrustMode.CustomRootTrust, policy.TrustMode);
        Assert.IsEmpty(policy.CustomTrustStore);
        Assert.AreEqual(X509RevocationMode.NoCheck, policy.RevocationMode);
        Assert.IsTrue(policy.DisableCertificateDownloads);
    }

    [TestMethod]
    public void ChainBuiltWithThePolicy_DoesNotTrustAnSvidOnItsOwn()
    {
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        WorkloadCertificate svid = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/orders"));
        using var chain = new X509Chain { ChainPolicy = OfflinePlatformChainPolicy.Create() };

        bool built = chain.Build(svid.Certificate);

        Assert.IsFalse(built);
        Assert.IsTrue(chain.ChainStatus.Any(s => s.Status is X509ChainStatusFlags.PartialChain or X509ChainStatusFlags.UntrustedRoot));
    }
}
