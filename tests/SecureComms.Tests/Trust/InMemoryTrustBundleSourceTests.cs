using SecureComms.Testing;

namespace SecureComms.Tests.Trust;

/// <summary>The in-memory trust bundle source is replaced in code and signals like the file source.</summary>
[TestClass]
public sealed class InMemoryTrustBundleSourceTests
{
    [TestMethod]
    public void Update_ReplacesTheSnapshot_AndFiresTheTokenHandedOutBefore()
    {
        using var example = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using var partner = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("partner.org"));
        using var source = new InMemoryTrustBundleSource(example.CreateTrustBundle());
        Microsoft.Extensions.Primitives.IChangeToken before = source.GetChangeToken();
        bool fired = false;
        before.RegisterChangeCallback(_ => fired = true, null);
        var federated = new TrustBundleSet([example.CreateTrustBundle(), partner.CreateTrustBundle()]);

        source.Update(federated);

        Assert.AreSame(federated, source.Current);
        Assert.IsTrue(fired);
        Assert.IsFalse(source.GetChangeToken().HasChanged, "a fresh token waits for the next update");
    }
}
