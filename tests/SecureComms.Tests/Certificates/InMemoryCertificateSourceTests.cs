using SecureComms.Testing;

namespace SecureComms.Tests.Certificates;

/// <summary>The in-memory certificate source rotates in code and signals like the file sources.</summary>
[TestClass]
public sealed class InMemoryCertificateSourceTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    [TestMethod]
    public void Update_ReplacesTheCertificate_AndFiresTheTokenHandedOutBefore_ButNotTheNewOne()
    {
        using var root = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using var source = new InMemoryCertificateSource(root.IssueSvid(Orders));
        Microsoft.Extensions.Primitives.IChangeToken before = source.GetChangeToken();
        bool fired = false;
        before.RegisterChangeCallback(_ => fired = true, null);
        WorkloadCertificate next = root.IssueSvid(Orders);

        source.Update(next);

        Assert.AreSame(next, source.Current);
        Assert.IsTrue(fired);
        Assert.IsTrue(before.HasChanged);
        Assert.IsFalse(source.GetChangeToken().HasChanged, "a fresh token waits for the next rotation");
    }
}
