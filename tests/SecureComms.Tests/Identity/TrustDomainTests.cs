namespace SecureComms.Tests.Identity;

/// <summary>
/// Trust domain names (SPIFFE-ID §2.1), with go-spiffe's examples (<c>spiffeid/trustdomain_test.go</c>): a bare name
/// or the trust domain of a SPIFFE ID, each invalid one refused with its precise reason.
/// </summary>
[TestClass]
public sealed class TrustDomainTests
{
    private const string TrustDomainAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789.-_";

    [TestMethod]
    [DataRow("example.org", "example.org", DisplayName = "a name")]
    [DataRow("trustdomain", "trustdomain", DisplayName = "go-spiffe: a single label")]
    [DataRow("spiffe://trustdomain", "trustdomain", DisplayName = "go-spiffe: an ID without a path")]
    [DataRow("spiffe://trustdomain/path", "trustdomain", DisplayName = "go-spiffe: an ID with a path")]
    [DataRow("spiffe://example.org/ns/orders", "example.org", DisplayName = "a workload ID")]
    [DataRow("192.168.1.1", "192.168.1.1", DisplayName = "spec §2.1: an IPv4 dotted quad")]
    [DataRow("trust_domain_name.example.com", "trust_domain_name.example.com", DisplayName = "spec §2.1.1: underscore")]
    [DataRow("-._", "-._", DisplayName = "punctuation only")]
    public void ValidName_Parses(string text, string name)
    {
        Assert.IsTrue(TrustDomain.TryParse(text, out TrustDomain viaTry, out string? error), error);
        TrustDomain td = TrustDomain.Parse(text);

        Assert.AreEqual(viaTry, td);
        Assert.AreEqual(name, td.Name);
        Assert.AreEqual(name, td.ToString());
        Assert.IsFalse(td.IsEmpty);
        Assert.AreEqual(SpiffeId.Parse("spiffe://" + name), td.Id);
        Assert.IsTrue(td.Id.IsTrustDomainId);
    }

    [TestMethod]
    [DataRow("", "trust domain is missing", DisplayName = "go-spiffe: empty")]
    [DataRow("Example.org", "lowercase", DisplayName = "uppercase")]
    [DataRow("BAD", "lowercase", DisplayName = "go-spiffe: all uppercase")]
    [DataRow("trust$domain", "trust domain characters are limited", DisplayName = "go-spiffe: '$'")]
    [DataRow("exa mple.org", "trust domain characters are limited", DisplayName = "space")]
    [DataRow("example.org/orders", "trust domain characters are limited", DisplayName = "a path without a scheme")]
    [DataRow("ex\u00e4mple.org", "trust domain characters are limited", DisplayName = "non-ASCII letter")]
    [DataRow("\u212Aelvin.org", "trust domain characters are limited", DisplayName = "Kelvin sign")]
    [DataRow("example.org:443", "port", DisplayName = "a port")]
    [DataRow("example.org:", "port", DisplayName = "an empty port")]
    [DataRow("user@example.org", "userinfo", DisplayName = "userinfo")]
    [DataRow("user:password@example.org", "userinfo", DisplayName = "userinfo with a password")]
    [DataRow("[::1]", "IP-literal", DisplayName = "IPv6 loopback")]
    [DataRow("exa%20mple", "percent-encoding", DisplayName = "percent-encoding")]
    [DataRow("example.org?x", "query", DisplayName = "a query")]
    [DataRow("example.org#x", "fragment", DisplayName = "a fragment")]
    [DataRow("https://example.org", "scheme is missing or invalid", DisplayName = "another scheme")]
    [DataRow("spiffe:/trustdomain/path", "scheme is missing or invalid", DisplayName = "go-spiffe: one slash")]
    [DataRow("SPIFFE://example.org", "lowercase", DisplayName = "uppercase scheme")]
    [DataRow("spiffe://", "trust domain is missing", DisplayName = "go-spiffe: nothing after the scheme")]
    [DataRow("spiffe:///path", "trust domain is missing", DisplayName = "go-spiffe: empty host")]
    [DataRow("spiffe://trustdomain/", "trailing", DisplayName = "go-spiffe: trailing slash on a trust-domain ID")]
    [DataRow("spiffe://trustdomain/path/", "trailing", DisplayName = "go-spiffe: trailing slash on a workload ID")]
    [DataRow("spiffe://%F0%9F%A4%AF/path", "percent-encoding", DisplayName = "go-spiffe: percent-encoded unicode trust domain")]
    [DataRow("spiffe://trustdomain/%F0%9F%A4%AF", "percent-encoding", DisplayName = "go-spiffe: percent-encoded unicode path")]
    [DataRow("spiffe://Example.org", "lowercase", DisplayName = "an ID with an uppercase trust domain")]
    [DataRow("spiffe://example.org:8443/x", "port", DisplayName = "an ID with a port")]
    public void InvalidName_IsRefusedWithAPreciseReason(string text, string reason)
    {
        Assert.IsFalse(TrustDomain.TryParse(text, out TrustDomain td, out string? error));
        Assert.IsTrue(td.IsEmpty);
        Assert.Contains(reason, error);
        Assert.IsFalse(TrustDomain.TryParse(text, out _));

        FormatException thrown = Assert.ThrowsExactly<FormatException>(() => TrustDomain.Parse(text));
        Assert.Contains(reason, thrown.Message);
    }

    [TestMethod]
    public void EveryLatin1Character_IsAllowedExactlyWhenTheSpecSaysSo()
    {
        var mistakes = new List<string>();
        for (int i = 0; i < 256; i++)
        {
            char c = (char)i;
            bool allowed = TrustDomainAlphabet.Contains(c, StringComparison.Ordinal);
            bool parsed = TrustDomain.TryParse("trustdomain" + c, out TrustDomain td, out string? error);
            if (parsed != allowed || (parsed && td.Name != "trustdomain" + c))
            {
                mistakes.Add($"U+{i:X4}: expected {(allowed ? "valid" : "invalid")}, got {error ?? td.Name}");
            }
        }

        Assert.IsEmpty(mistakes, string.Join(Environment.NewLine, mistakes));
    }

    [TestMethod]
    public void NameOf255Bytes_IsAllowed_And256IsNot()
    {
        string at255 = new('a', 255);
        Assert.AreEqual(at255, TrustDomain.Parse(at255).Name);
        Assert.AreEqual(at255, TrustDomain.Parse("spiffe://" + at255).Name);

        Assert.IsFalse(TrustDomain.TryParse(at255 + "a", out _, out string? error));
        Assert.Contains("255 bytes", error);
        Assert.IsFalse(TrustDomain.TryParse("spiffe://" + at255 + "a/x", out _, out error));
        Assert.Contains("255 bytes", error);
    }

    [TestMethod]
    public void Null_IsAFormatException_NotAnArgumentNullException()
    {
        Assert.Contains("missing", Assert.ThrowsExactly<FormatException>(() => TrustDomain.Parse(null!)).Message);
        Assert.IsFalse(TrustDomain.TryParse(null, out TrustDomain td, out string? error));
        Assert.IsTrue(td.IsEmpty);
        Assert.Contains("missing", error);
    }

    [TestMethod]
    public void DefaultValue_IsEmpty_AndItsIdIsTheEmptySpiffeId()
    {
        TrustDomain empty = default;

        Assert.IsTrue(empty.IsEmpty);
        Assert.AreEqual(string.Empty, empty.Name);
        Assert.AreEqual(string.Empty, empty.ToString());
        Assert.IsTrue(empty.Id.IsEmpty, "go-spiffe: the zero trust domain's ID is the zero ID, not 'spiffe://'");
        Assert.AreEqual(default, empty.Id);
        Assert.AreEqual(0, empty.GetHashCode());
    }

    [TestMethod]
    public void Equality_IsByName_AndConsistentWithHashing()
    {
        TrustDomain a = TrustDomain.Parse("example.org");
        TrustDomain b = TrustDomain.Parse("spiffe://example.org/x");

        Assert.AreEqual(a, b);
        Assert.IsTrue(a == b);
        Assert.IsTrue(a.Equals((object)b));
        Assert.AreEqual(a.GetHashCode(), b.GetHashCode());
        Assert.AreEqual(a, SpiffeId.Parse("spiffe://example.org/y").TrustDomain);
        Assert.AreNotEqual(a, TrustDomain.Parse("example.com"));
        Assert.IsTrue(a != TrustDomain.Parse("example.org.evil"));
        Assert.AreNotEqual(a, default);
        Assert.IsFalse(a.Equals("example.org"));
    }
}
