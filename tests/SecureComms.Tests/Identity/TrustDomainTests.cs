namespace SecureComms.Tests.Identity;

[TestClass]
public sealed class TrustDomainTests
{
    [TestMethod]
    [DataRow("example.org", "example.org")]
    [DataRow("spiffe://example.org", "example.org", DisplayName = "a trust domain ID")]
    [DataRow("spiffe://example.org/ns/orders", "example.org", DisplayName = "taken from a workload ID")]
    public void Parse_AcceptsANameOrASpiffeId(string text, string name)
    {
        Assert.AreEqual(name, TrustDomain.Parse(text).Name);
        Assert.AreEqual(SpiffeId.Parse("spiffe://" + name), TrustDomain.Parse(text).Id);
    }

    [TestMethod]
    [DataRow("", "missing")]
    [DataRow("Example.org", "lowercase")]
    [DataRow("example.org:443", "port", DisplayName = "with a port")]
    [DataRow("https://example.org", "port", DisplayName = "another scheme reads as a name with ':'")]
    [DataRow("exa%20mple", "percent-encoding")]
    [DataRow("spiffe://Example.org", "lowercase")]
    public void InvalidTrustDomain_IsRefusedWithAReason(string text, string reason)
    {
        Assert.IsFalse(TrustDomain.TryParse(text, out _, out string? error));
        FormatException thrown = Assert.ThrowsExactly<FormatException>(() => TrustDomain.Parse(text));
        StringAssert.Contains(thrown.Message, reason);
        Assert.IsFalse(string.IsNullOrEmpty(error));
    }

    [TestMethod]
    public void DefaultValue_IsEmpty_AndEqualityIsByName()
    {
        Assert.IsTrue(default(TrustDomain).IsEmpty);
        Assert.AreEqual(TrustDomain.Parse("example.org"), TrustDomain.Parse("spiffe://example.org/x"));
        Assert.AreNotEqual(TrustDomain.Parse("example.org"), TrustDomain.Parse("example.com"));
    }
}
