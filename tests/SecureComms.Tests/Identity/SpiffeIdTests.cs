namespace SecureComms.Tests.Identity;

/// <summary>The SPIFFE-ID specification's rules, as a table of valid and invalid IDs with the reason each is refused.</summary>
[TestClass]
public sealed class SpiffeIdTests
{
    [TestMethod]
    [DataRow("spiffe://trustdomain", "trustdomain", "")]
    [DataRow("spiffe://trustdomain/path", "trustdomain", "/path")]
    [DataRow("spiffe://trustdomain/path/element", "trustdomain", "/path/element")]
    [DataRow("spiffe://example.org/ns/prod/sa/orders", "example.org", "/ns/prod/sa/orders")]
    [DataRow("spiffe://a-b_c.d0/A-Z_a.z-09", "a-b_c.d0", "/A-Z_a.z-09", DisplayName = "every allowed character class")]
    [DataRow("spiffe://xn--bcher-kva.example/x", "xn--bcher-kva.example", "/x", DisplayName = "punycode trust domain")]
    [DataRow("spiffe://192.168.1.1/x", "192.168.1.1", "/x", DisplayName = "IP-like trust domain")]
    [DataRow("spiffe://example.org/...a/a..", "example.org", "/...a/a..", DisplayName = "dots inside a segment are fine")]
    public void ValidId_ParsesIntoTrustDomainAndPath(string text, string trustDomain, string path)
    {
        SpiffeId id = SpiffeId.Parse(text);

        Assert.AreEqual(trustDomain, id.TrustDomain.Name);
        Assert.AreEqual(path, id.Path);
        Assert.AreEqual(text, id.ToString());
        Assert.AreEqual(path.Length == 0, id.IsTrustDomainId);
    }

    [TestMethod]
    [DataRow("", "empty", DisplayName = "empty")]
    [DataRow("http://example.org/x", "scheme", DisplayName = "wrong scheme")]
    [DataRow("SPIFFE://example.org/x", "scheme", DisplayName = "uppercase scheme")]
    [DataRow("spiffe:/example.org/x", "scheme", DisplayName = "one slash")]
    [DataRow("spiffe:example.org", "scheme", DisplayName = "no authority")]
    [DataRow("spiffe://", "trust domain is missing", DisplayName = "no trust domain")]
    [DataRow("spiffe:///path", "trust domain is missing", DisplayName = "empty trust domain")]
    [DataRow("spiffe://Example.org/x", "lowercase", DisplayName = "uppercase trust domain")]
    [DataRow("spiffe://exa mple.org/x", "lowercase", DisplayName = "space in trust domain")]
    [DataRow("spiffe://user@example.org/x", "userinfo", DisplayName = "userinfo")]
    [DataRow("spiffe://example.org:8443/x", "port", DisplayName = "port")]
    [DataRow("spiffe://example.org/x?y=1", "query", DisplayName = "query")]
    [DataRow("spiffe://example.org?y=1", "query", DisplayName = "query without path")]
    [DataRow("spiffe://example.org/x#frag", "fragment", DisplayName = "fragment")]
    [DataRow("spiffe://example.org/%41", "percent-encoding", DisplayName = "percent-encoding in path")]
    [DataRow("spiffe://ex%41mple.org/x", "percent-encoding", DisplayName = "percent-encoding in trust domain")]
    [DataRow("spiffe://example.org/a//b", "empty segments", DisplayName = "empty segment")]
    [DataRow("spiffe://example.org//", "empty segments", DisplayName = "double slash after trust domain")]
    [DataRow("spiffe://example.org/", "end with '/'", DisplayName = "trailing slash on root")]
    [DataRow("spiffe://example.org/a/", "end with '/'", DisplayName = "trailing slash")]
    [DataRow("spiffe://example.org/./a", "'.' or '..'", DisplayName = "dot segment")]
    [DataRow("spiffe://example.org/a/..", "'.' or '..'", DisplayName = "dot-dot segment")]
    [DataRow("spiffe://example.org/a b", "path segment characters", DisplayName = "space in path")]
    [DataRow("spiffe://example.org/a*b", "path segment characters", DisplayName = "star in path")]
    [DataRow("spiffe://example.org/caf\u00e9", "path segment characters", DisplayName = "non-ASCII in path")]
    [DataRow("spiffe://ex\u00e4mple.org/x", "lowercase", DisplayName = "non-ASCII in trust domain")]
    public void InvalidId_IsRefusedWithAPreciseReason(string text, string reason)
    {
        Assert.IsFalse(SpiffeId.TryParse(text, out SpiffeId id, out string? error));
        Assert.IsTrue(id.IsEmpty);
        StringAssert.Contains(error, reason);

        FormatException thrown = Assert.ThrowsExactly<FormatException>(() => SpiffeId.Parse(text));
        StringAssert.Contains(thrown.Message, reason);
    }

    [TestMethod]
    public void Null_IsAFormatException_NotAnArgumentNullException()
    {
        Assert.ThrowsExactly<FormatException>(() => SpiffeId.Parse(null!));
        Assert.IsFalse(SpiffeId.TryParse(null, out _));
    }

    [TestMethod]
    public void TrustDomainOf255Bytes_IsAllowed_And256IsNot()
    {
        string at255 = new('a', 255);
        Assert.IsTrue(SpiffeId.TryParse($"spiffe://{at255}/x", out _));

        Assert.IsFalse(SpiffeId.TryParse($"spiffe://{at255}a/x", out _, out string? error));
        StringAssert.Contains(error, "255 bytes");
    }

    [TestMethod]
    public void IdOf2048Bytes_IsAllowed_And2049IsNot()
    {
        string prefix = "spiffe://example.org/";
        string at2048 = prefix + new string('p', 2048 - prefix.Length);
        Assert.AreEqual(2048, at2048.Length);
        Assert.IsTrue(SpiffeId.TryParse(at2048, out _));

        Assert.IsFalse(SpiffeId.TryParse(at2048 + "p", out _, out string? error));
        StringAssert.Contains(error, "2048 bytes");
    }

    [TestMethod]
    public void Equality_IsOrdinal_AndConsistentWithHashing()
    {
        SpiffeId a = SpiffeId.Parse("spiffe://example.org/orders");
        SpiffeId b = SpiffeId.Parse("spiffe://example.org/orders");
        SpiffeId c = SpiffeId.Parse("spiffe://example.org/Orders");

        Assert.AreEqual(a, b);
        Assert.IsTrue(a == b);
        Assert.AreEqual(a.GetHashCode(), b.GetHashCode());
        Assert.AreNotEqual(a, c, "paths are case-sensitive");
        Assert.IsTrue(a != c);
        Assert.AreNotEqual(a, default);
    }

    [TestMethod]
    public void FromPath_BuildsAndValidates()
    {
        TrustDomain td = TrustDomain.Parse("example.org");

        Assert.AreEqual(SpiffeId.Parse("spiffe://example.org/a/b"), SpiffeId.FromPath(td, "/a/b"));
        Assert.AreEqual(td.Id, SpiffeId.FromPath(td, string.Empty));
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeId.FromPath(td, "a/b"));
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeId.FromPath(td, "/a/../b"));
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeId.FromPath(default, "/a"));
    }

    [TestMethod]
    public void Membership_ComparesTrustDomainsExactly()
    {
        SpiffeId id = SpiffeId.Parse("spiffe://example.org/orders");

        Assert.IsTrue(id.IsMemberOf(TrustDomain.Parse("example.org")));
        Assert.IsFalse(id.IsMemberOf(TrustDomain.Parse("example.org.evil")));
        Assert.IsFalse(id.IsMemberOf(TrustDomain.Parse("org")));
        Assert.IsFalse(default(SpiffeId).IsMemberOf(TrustDomain.Parse("example.org")));
    }
}
