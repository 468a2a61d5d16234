using System.Text;

namespace SecureComms.Tests.Identity;

/// <summary>
/// The SPIFFE-ID specification's rules, with its own examples and go-spiffe's (<c>spiffeid/id_test.go</c>), as tables
/// of valid IDs and of invalid IDs with the precise reason each is refused.
/// </summary>
[TestClass]
public sealed class SpiffeIdTests
{
    private const string TrustDomainAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789.-_";
    private const string PathAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";

    // Characters beyond Latin-1 that have fooled parsers: case-folding look-alikes, invisible and bidi characters,
    // full-width forms, and a surrogate pair.
    private static readonly string[] UnicodeTricks =
    [
        "\u0130", "\u0131", "\u017F", "\u212A", "\u00A0", "\u200B", "\u202E", "\uFEFF", "\uFF41", "\uFF0F", "\u2215", "\uD83D\uDE00",
    ];

    [TestMethod]
    // SPIFFE-ID §2 and §2.2 examples
    [DataRow("spiffe://trust-domain-name/path", "trust-domain-name", "/path", DisplayName = "spec §2: the shape of a SPIFFE ID")]
    [DataRow("spiffe://staging.example.com/payments/mysql", "staging.example.com", "/payments/mysql", DisplayName = "spec §2.2: a service")]
    [DataRow("spiffe://staging.example.com/payments/web-fe", "staging.example.com", "/payments/web-fe", DisplayName = "spec §2.2: another service")]
    [DataRow("spiffe://k8s-west.example.com/ns/staging/sa/default", "k8s-west.example.com", "/ns/staging/sa/default", DisplayName = "spec §2.2: a service owner")]
    [DataRow("spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453", "example.com", "/9eebccd2-12bf-40a6-b262-65fe0487d453", DisplayName = "spec §2.2: an opaque ID")]
    [DataRow("spiffe://trust_domain_name.example.com/x", "trust_domain_name.example.com", "/x", DisplayName = "spec §2.1.1: underscore in a trust domain")]
    [DataRow("spiffe://192.168.1.1/x", "192.168.1.1", "/x", DisplayName = "spec §2.1: an IPv4 dotted quad is a trust domain name like any other")]
    // go-spiffe examples
    [DataRow("spiffe://trustdomain", "trustdomain", "", DisplayName = "go-spiffe: a trust-domain ID")]
    [DataRow("spiffe://domain.test/path/element", "domain.test", "/path/element", DisplayName = "go-spiffe: happy path")]
    [DataRow("spiffe://trustdomain/.path", "trustdomain", "/.path", DisplayName = "go-spiffe: a segment starting with a dot")]
    [DataRow("spiffe://trustdomain/..path", "trustdomain", "/..path", DisplayName = "go-spiffe: a segment starting with two dots")]
    [DataRow("spiffe://trustdomain/...", "trustdomain", "/...", DisplayName = "go-spiffe: three dots are not a dot segment")]
    // Every allowed character class
    [DataRow("spiffe://abcdefghijklmnopqrstuvwxyz0123456789.-_/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", "abcdefghijklmnopqrstuvwxyz0123456789.-_", "/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", DisplayName = "every allowed character")]
    [DataRow("spiffe://-._/_.-", "-._", "/_.-", DisplayName = "punctuation only")]
    [DataRow("spiffe://xn--bcher-kva.example/x", "xn--bcher-kva.example", "/x", DisplayName = "a punycode trust domain")]
    [DataRow("spiffe://example.org/a/b/c/d/e/f/g", "example.org", "/a/b/c/d/e/f/g", DisplayName = "a deep path")]
    public void ValidId_ParsesIntoTrustDomainAndPath(string text, string trustDomain, string path)
    {
        Assert.IsTrue(SpiffeId.TryParse(text, out SpiffeId viaTry, out string? error), error);
        Assert.IsNull(error);
        SpiffeId id = SpiffeId.Parse(text);

        Assert.AreEqual(viaTry, id);
        Assert.AreEqual(trustDomain, id.TrustDomain.Name);
        Assert.AreEqual(path, id.Path);
        Assert.AreEqual(text, id.ToString());
        Assert.AreEqual(path.Length == 0, id.IsTrustDomainId);
        Assert.IsFalse(id.IsEmpty);
        Assert.IsTrue(id.IsMemberOf(TrustDomain.Parse(trustDomain)));
    }

    [TestMethod]
    // Empty
    [DataRow("", "empty", DisplayName = "empty")]
    // Scheme (SPIFFE-ID §2)
    [DataRow("s", "scheme is missing or invalid", DisplayName = "go-spiffe: one letter")]
    [DataRow("spiffe:/", "scheme is missing or invalid", DisplayName = "go-spiffe: one slash, nothing else")]
    [DataRow("spiffe:/example.org/x", "scheme is missing or invalid", DisplayName = "one slash")]
    [DataRow("spiffe:path/element", "scheme is missing or invalid", DisplayName = "go-spiffe: no double slash")]
    [DataRow("spiffe:/path/element", "scheme is missing or invalid", DisplayName = "go-spiffe: one slash before a path")]
    [DataRow("http://domain.test/path/element", "scheme is missing or invalid", DisplayName = "go-spiffe: http scheme")]
    [DataRow("https://example.org/x", "scheme is missing or invalid", DisplayName = "https scheme")]
    [DataRow("spiffes://example.org/x", "scheme is missing or invalid", DisplayName = "a longer scheme")]
    [DataRow("192.168.2.2:6688", "scheme is missing or invalid", DisplayName = "go-spiffe: host and port, no scheme")]
    [DataRow("//example.org/x", "scheme is missing or invalid", DisplayName = "scheme-relative reference")]
    [DataRow("example.org/x", "scheme is missing or invalid", DisplayName = "no scheme at all")]
    [DataRow(" spiffe://example.org/x", "scheme is missing or invalid", DisplayName = "leading space")]
    [DataRow("Spiffe://", "lowercase", DisplayName = "go-spiffe: capitalised scheme")]
    [DataRow("SPIFFE://domain.test/path/element", "lowercase", DisplayName = "uppercase scheme")]
    [DataRow("spiFFe://example.org/x", "lowercase", DisplayName = "mixed-case scheme")]
    // Trust domain (SPIFFE-ID §2.1)
    [DataRow("spiffe://", "trust domain is missing", DisplayName = "go-spiffe: nothing after the scheme")]
    [DataRow("spiffe:///path/element", "trust domain is missing", DisplayName = "go-spiffe: empty host")]
    [DataRow("spiffe://?x", "trust domain is missing", DisplayName = "only a query")]
    [DataRow("spiffe://Example.org/x", "lowercase", DisplayName = "uppercase trust domain")]
    [DataRow("spiffe://EXAMPLE.ORG/x", "lowercase", DisplayName = "all-uppercase trust domain")]
    [DataRow("spiffe://Aexample.org/x", "lowercase", DisplayName = "'A', the first uppercase letter, in the trust domain")]
    [DataRow("spiffe://examplez.orZ/x", "lowercase", DisplayName = "'Z', the last uppercase letter, in the trust domain")]
    [DataRow("spiffe://trust$domain/x", "trust domain characters are limited", DisplayName = "go-spiffe: '$' in the trust domain")]
    [DataRow("spiffe://exa mple.org/x", "trust domain characters are limited", DisplayName = "space in the trust domain")]
    [DataRow("spiffe://exa\tmple.org/x", "trust domain characters are limited", DisplayName = "tab in the trust domain")]
    [DataRow("spiffe://example.org\0.evil/x", "trust domain characters are limited", DisplayName = "NUL in the trust domain")]
    [DataRow("spiffe://example.org\\x", "trust domain characters are limited", DisplayName = "backslash after the trust domain")]
    [DataRow("spiffe://ex\u00e4mple.org/x", "trust domain characters are limited", DisplayName = "non-ASCII letter in the trust domain")]
    [DataRow("spiffe://\u212Aelvin.org/x", "trust domain characters are limited", DisplayName = "Kelvin sign, which lowercases to 'k'")]
    [DataRow("spiffe://example\uFF0Eorg/x", "trust domain characters are limited", DisplayName = "full-width dot")]
    [DataRow("spiffe://user@example.org/x", "userinfo", DisplayName = "userinfo")]
    [DataRow("spiffe://user:password@test.org/path/element", "userinfo", DisplayName = "go-spiffe: userinfo with a password")]
    [DataRow("spiffe://@example.org/x", "userinfo", DisplayName = "empty userinfo")]
    [DataRow("spiffe://domain.test:8080/path/element", "port", DisplayName = "go-spiffe: port")]
    [DataRow("spiffe://domain.test:/path/element", "port", DisplayName = "go-spiffe: empty port")]
    [DataRow("spiffe://example.org:8443", "port", DisplayName = "port without a path")]
    [DataRow("spiffe://[::1]/service", "IP-literal", DisplayName = "IPv6 loopback")]
    [DataRow("spiffe://[2001:db8::1]/service", "IP-literal", DisplayName = "IPv6 address")]
    [DataRow("spiffe://%F0%9F%A4%AF/path", "percent-encoding", DisplayName = "go-spiffe: percent-encoded unicode trust domain")]
    [DataRow("spiffe://%62%61%64/path", "percent-encoding", DisplayName = "go-spiffe: percent-encoded ASCII trust domain")]
    [DataRow("spiffe://ex%41mple.org/x", "percent-encoding", DisplayName = "percent-encoded letter in the trust domain")]
    // Query and fragment (SPIFFE-ID §2)
    [DataRow("spiffe://domain.test/path/element?query=1", "query", DisplayName = "go-spiffe: query")]
    [DataRow("spiffe://domain.test/path/element?#fragment-1", "query", DisplayName = "go-spiffe: empty query and a fragment")]
    [DataRow("spiffe://example.org?y=1", "query", DisplayName = "query without a path")]
    [DataRow("spiffe://example.org?", "query", DisplayName = "empty query without a path")]
    [DataRow("spiffe://example.org?x@y/z", "query", DisplayName = "query hiding an '@'")]
    [DataRow("spiffe://domain.test/path/element#fragment-1", "fragment", DisplayName = "fragment")]
    [DataRow("spiffe://example.org#x", "fragment", DisplayName = "fragment without a path")]
    [DataRow("spiffe://example.org/#", "fragment", DisplayName = "empty fragment")]
    // Path (SPIFFE-ID §2.2)
    [DataRow("spiffe://trustdomain/", "trailing", DisplayName = "go-spiffe: trailing slash on a trust-domain ID")]
    [DataRow("spiffe://trustdomain/path/", "trailing", DisplayName = "go-spiffe: trailing slash")]
    [DataRow("spiffe://trustdomain//", "empty segments", DisplayName = "go-spiffe: two slashes")]
    [DataRow("spiffe://trustdomain//path", "empty segments", DisplayName = "go-spiffe: path starting with two slashes")]
    [DataRow("spiffe://trustdomain/path//", "empty segments", DisplayName = "go-spiffe: two trailing slashes")]
    [DataRow("spiffe://example.org/a//b", "empty segments", DisplayName = "empty segment in the middle")]
    [DataRow("spiffe://trustdomain/.", "dot segments", DisplayName = "go-spiffe: '.'")]
    [DataRow("spiffe://trustdomain/./path", "dot segments", DisplayName = "go-spiffe: leading '.'")]
    [DataRow("spiffe://trustdomain/path/./other", "dot segments", DisplayName = "go-spiffe: '.' in the middle")]
    [DataRow("spiffe://trustdomain/path/..", "dot segments", DisplayName = "go-spiffe: trailing '..'")]
    [DataRow("spiffe://trustdomain/..", "dot segments", DisplayName = "go-spiffe: '..'")]
    [DataRow("spiffe://trustdomain/../path", "dot segments", DisplayName = "go-spiffe: leading '..'")]
    [DataRow("spiffe://trustdomain/path/../other", "dot segments", DisplayName = "go-spiffe: '..' climbing out")]
    [DataRow("spiffe://trustdomain/%F0%9F%A4%AF", "percent-encoding", DisplayName = "go-spiffe: percent-encoded unicode path")]
    [DataRow("spiffe://trustdomain/%62%61%64", "percent-encoding", DisplayName = "go-spiffe: percent-encoded ASCII path")]
    [DataRow("spiffe://domain.test/path/elem%5uent", "percent-encoding", DisplayName = "go-spiffe: broken percent-encoding")]
    [DataRow("spiffe://domain.test/path/element%5", "percent-encoding", DisplayName = "go-spiffe: truncated percent-encoding")]
    [DataRow("spiffe://example.org/%2e%2e/admin", "percent-encoding", DisplayName = "percent-encoded dot segment")]
    [DataRow("spiffe://example.org/a%2Fb", "percent-encoding", DisplayName = "percent-encoded slash")]
    [DataRow("spiffe://trustdomain/path$", "path segment characters are limited", DisplayName = "go-spiffe: '$' in the path")]
    [DataRow("spiffe://domain.test/p!a$t&h'/(e)l*e+m,e;n=t", "path segment characters are limited", DisplayName = "go-spiffe: sub-delimiters")]
    [DataRow("spiffe://domain.test/pa:th/element:", "path segment characters are limited", DisplayName = "go-spiffe: colons in the path")]
    [DataRow("spiffe://domain.test/pa@th/element", "path segment characters are limited", DisplayName = "go-spiffe: '@' in the path")]
    [DataRow("spiffe://domain.test/path/elem[ent", "path segment characters are limited", DisplayName = "go-spiffe: '[' in the path")]
    [DataRow("spiffe://domain.test/path/elem]ent", "path segment characters are limited", DisplayName = "go-spiffe: ']' in the path")]
    [DataRow("spiffe://domain.test/spiffe://domain.test/path/element", "path segment characters are limited", DisplayName = "go-spiffe: a SPIFFE ID as the path")]
    [DataRow("spiffe://example.org/a b", "path segment characters are limited", DisplayName = "space in the path")]
    [DataRow("spiffe://example.org/a*b", "path segment characters are limited", DisplayName = "star in the path")]
    [DataRow("spiffe://example.org/a\\..\\b", "path segment characters are limited", DisplayName = "backslashes in the path")]
    [DataRow("spiffe://example.org/x\n", "path segment characters are limited", DisplayName = "trailing newline")]
    [DataRow("spiffe://example.org/x\r\nforged", "path segment characters are limited", DisplayName = "CRLF injection")]
    [DataRow("spiffe://example.org/x\0", "path segment characters are limited", DisplayName = "NUL in the path")]
    [DataRow("spiffe://example.org/caf\u00e9", "path segment characters are limited", DisplayName = "non-ASCII in the path")]
    [DataRow("spiffe://example.org/admin\u202Etxt", "path segment characters are limited", DisplayName = "bidi override in the path")]
    [DataRow("spiffe://example.org/a\uFF0Fb", "path segment characters are limited", DisplayName = "full-width solidus in the path")]
    public void InvalidId_IsRefusedWithAPreciseReason(string text, string reason)
    {
        Assert.IsFalse(SpiffeId.TryParse(text, out SpiffeId id, out string? error));
        Assert.IsTrue(id.IsEmpty);
        Assert.IsNotNull(error);
        Assert.Contains(reason, error);
        Assert.IsFalse(SpiffeId.TryParse(text, out _));

        FormatException thrown = Assert.ThrowsExactly<FormatException>(() => SpiffeId.Parse(text));
        Assert.Contains(reason, thrown.Message);
    }

    [TestMethod]
    public void EveryLatin1AndTrickyUnicodeCharacter_IsAllowedInTheTrustDomainExactlyWhenTheSpecSaysSo()
    {
        var mistakes = new List<string>();
        foreach (string c in Candidates())
        {
            if (c == "/")
            {
                continue; // the delimiter between the trust domain and the path
            }

            string text = $"spiffe://trustdomain{c}/path";
            bool allowed = c.Length == 1 && TrustDomainAlphabet.Contains(c[0], StringComparison.Ordinal);
            bool parsed = SpiffeId.TryParse(text, out SpiffeId id, out string? error);
            if (parsed != allowed)
            {
                mistakes.Add($"U+{(int)c[0]:X4}: expected {(allowed ? "valid" : "invalid")}, got {error ?? "valid"}");
            }
            else if (parsed && id.TrustDomain.Name != "trustdomain" + c)
            {
                mistakes.Add($"U+{(int)c[0]:X4}: trust domain read as {id.TrustDomain.Name}");
            }
            else if (!parsed && !error!.Contains(ExpectedTrustDomainReason(c[0]), StringComparison.Ordinal))
            {
                mistakes.Add($"U+{(int)c[0]:X4}: expected a reason about {ExpectedTrustDomainReason(c[0])}, got {error}");
            }
        }

        Assert.IsEmpty(mistakes, string.Join(Environment.NewLine, mistakes));
    }

    [TestMethod]
    public void EveryLatin1AndTrickyUnicodeCharacter_IsAllowedInAPathSegmentExactlyWhenTheSpecSaysSo()
    {
        var mistakes = new List<string>();
        foreach (string c in Candidates())
        {
            if (c == "/")
            {
                continue; // the delimiter between segments
            }

            string text = $"spiffe://trustdomain/path{c}";
            bool allowed = c.Length == 1 && PathAlphabet.Contains(c[0], StringComparison.Ordinal);
            bool parsed = SpiffeId.TryParse(text, out SpiffeId id, out string? error);
            if (parsed != allowed)
            {
                mistakes.Add($"U+{(int)c[0]:X4}: expected {(allowed ? "valid" : "invalid")}, got {error ?? "valid"}");
            }
            else if (parsed && id.Path != "/path" + c)
            {
                mistakes.Add($"U+{(int)c[0]:X4}: path read as {id.Path}");
            }
            else if (!parsed && !error!.Contains(ExpectedPathReason(c[0]), StringComparison.Ordinal))
            {
                mistakes.Add($"U+{(int)c[0]:X4}: expected a reason about {ExpectedPathReason(c[0])}, got {error}");
            }
        }

        Assert.IsEmpty(mistakes, string.Join(Environment.NewLine, mistakes));
    }

    [TestMethod]
    public void Null_IsAFormatException_NotAnArgumentNullException()
    {
        FormatException thrown = Assert.ThrowsExactly<FormatException>(() => SpiffeId.Parse(null!));
        Assert.AreEqual("(null) is not a valid SPIFFE ID: the SPIFFE ID is empty.", thrown.Message);

        Assert.IsFalse(SpiffeId.TryParse(null, out SpiffeId id, out string? error));
        Assert.IsTrue(id.IsEmpty);
        Assert.Contains("empty", error);
        Assert.IsFalse(SpiffeId.TryParse(null, out _));
    }

    [TestMethod]
    public void TrustDomainOf255Bytes_IsAllowed_And256IsNot()
    {
        string at255 = new('a', 255);
        Assert.AreEqual(at255, SpiffeId.Parse($"spiffe://{at255}/x").TrustDomain.Name);
        Assert.IsTrue(SpiffeId.TryParse($"spiffe://{at255}", out _));

        Assert.IsFalse(SpiffeId.TryParse($"spiffe://{at255}a/x", out _, out string? error));
        Assert.Contains("255 bytes", error);
        Assert.IsFalse(SpiffeId.TryParse($"spiffe://{at255}a", out _, out error));
        Assert.Contains("255 bytes", error);
    }

    [TestMethod]
    public void IdOf2048Bytes_IsAllowed_And2049IsNot()
    {
        string prefix = "spiffe://example.org/";
        string at2048 = prefix + new string('p', 2048 - prefix.Length);
        Assert.AreEqual(2048, at2048.Length);
        Assert.AreEqual(at2048, SpiffeId.Parse(at2048).ToString());

        string at2049 = at2048 + "p";
        Assert.IsFalse(SpiffeId.TryParse(at2049, out _, out string? error));
        Assert.Contains("2048 bytes", error);
        Assert.Contains("2048 bytes", Assert.ThrowsExactly<FormatException>(() => SpiffeId.Parse(at2049)).Message);
    }

    [TestMethod]
    public void IdOf2048BytesMadeOfManySegments_IsAllowed()
    {
        var builder = new StringBuilder("spiffe://example.org");
        while (builder.Length + 2 <= 2048)
        {
            builder.Append("/s");
        }

        string text = builder.ToString().PadRight(2048, 's');
        Assert.AreEqual(2048, text.Length);
        Assert.IsTrue(SpiffeId.TryParse(text, out _, out string? error), error);
    }

    [TestMethod]
    public void MultiByteCharacters_AreRefused_EvenWhenTheCharacterCountIsWithin2048()
    {
        string prefix = "spiffe://example.org/";
        string text = prefix + new string('\u00e9', 2048 - prefix.Length);
        Assert.AreEqual(2048, text.Length);
        Assert.IsGreaterThan(2048, Encoding.UTF8.GetByteCount(text));

        Assert.IsFalse(SpiffeId.TryParse(text, out _, out string? error));
        Assert.Contains("path segment characters are limited", error);
    }

    [TestMethod]
    public void Equality_IsOrdinal_AndConsistentWithHashing()
    {
        SpiffeId a = SpiffeId.Parse("spiffe://example.org/orders");
        SpiffeId b = SpiffeId.Parse(string.Concat("spiffe://example.org/", "orders"));
        SpiffeId c = SpiffeId.Parse("spiffe://example.org/Orders");
        SpiffeId d = SpiffeId.Parse("spiffe://example.org.evil/orders");

        Assert.AreEqual(a, b);
        Assert.IsTrue(a == b);
        Assert.IsFalse(a != b);
        Assert.IsTrue(a.Equals((object)b));
        Assert.AreEqual(a.GetHashCode(), b.GetHashCode());
        Assert.AreNotEqual(a, c, "paths are case-sensitive (SPIFFE-ID §2.4)");
        Assert.IsTrue(a != c);
        Assert.AreNotEqual(a, d);
        Assert.AreNotEqual(a, default);
        Assert.IsFalse(a.Equals("spiffe://example.org/orders"), "a string is not a SpiffeId");
        Assert.IsFalse(a.Equals(null));

        var set = new HashSet<SpiffeId> { a, b, c, d };
        Assert.HasCount(3, set);
    }

    [TestMethod]
    public void DefaultValue_IsEmpty_AndEqualOnlyToItself()
    {
        SpiffeId empty = default;

        Assert.IsTrue(empty.IsEmpty);
        Assert.IsFalse(empty.IsTrustDomainId);
        Assert.IsTrue(empty.TrustDomain.IsEmpty);
        Assert.AreEqual(string.Empty, empty.Path);
        Assert.AreEqual(string.Empty, empty.ToString());
        Assert.AreEqual(0, empty.GetHashCode());
        Assert.IsTrue(empty == default);
        Assert.IsFalse(empty.IsMemberOf(default));
        Assert.IsFalse(empty.IsMemberOf(TrustDomain.Parse("example.org")));
    }

    [TestMethod]
    public void FromPath_BuildsTheSameIdAsParse()
    {
        TrustDomain td = TrustDomain.Parse("example.org");

        Assert.AreEqual(SpiffeId.Parse("spiffe://example.org/a/b"), SpiffeId.FromPath(td, "/a/b"));
        Assert.AreEqual("spiffe://example.org/a/b", SpiffeId.FromPath(td, "/a/b").ToString());
        Assert.AreEqual("/a/b", SpiffeId.FromPath(td, "/a/b").Path);
        Assert.AreEqual(td, SpiffeId.FromPath(td, "/a/b").TrustDomain);
        Assert.AreEqual(td.Id, SpiffeId.FromPath(td, string.Empty));
        Assert.IsTrue(SpiffeId.FromPath(td, string.Empty).IsTrustDomainId);
    }

    [TestMethod]
    [DataRow("a/b", "start with '/'", DisplayName = "no leading slash")]
    [DataRow("/", "trailing", DisplayName = "just a slash")]
    [DataRow("/a/", "trailing", DisplayName = "trailing slash")]
    [DataRow("//a", "empty segments", DisplayName = "empty segment")]
    [DataRow("/a/../b", "dot segments", DisplayName = "dot-dot segment")]
    [DataRow("/.", "dot segments", DisplayName = "dot segment")]
    [DataRow("/a%2Fb", "percent-encoding", DisplayName = "percent-encoding")]
    [DataRow("/a?b", "query", DisplayName = "query")]
    [DataRow("/a#b", "fragment", DisplayName = "fragment")]
    [DataRow("/a b", "path segment characters are limited", DisplayName = "space")]
    public void FromPath_RefusesAnInvalidPathWithAReason(string path, string reason)
    {
        ArgumentException thrown = Assert.ThrowsExactly<ArgumentException>(() => SpiffeId.FromPath(TrustDomain.Parse("example.org"), path));

        Assert.Contains(reason, thrown.Message);
        Assert.AreEqual("path", thrown.ParamName);
    }

    [TestMethod]
    public void FromPath_RefusesAnEmptyTrustDomain_ANullPath_AndAnIdLongerThan2048Bytes()
    {
        TrustDomain td = TrustDomain.Parse("example.org");
        string path2048 = "/" + new string('p', 2048 - "spiffe://example.org/".Length);

        Assert.AreEqual(2048, SpiffeId.FromPath(td, path2048).ToString().Length);
        Assert.Contains("2048 bytes", Assert.ThrowsExactly<ArgumentException>(() => SpiffeId.FromPath(td, path2048 + "p")).Message);
        Assert.Contains("trust domain is missing", Assert.ThrowsExactly<ArgumentException>(() => SpiffeId.FromPath(default, "/a")).Message);
        Assert.ThrowsExactly<ArgumentNullException>(() => SpiffeId.FromPath(td, null!));
    }

    [TestMethod]
    public void Membership_ComparesTrustDomainsExactly()
    {
        SpiffeId id = SpiffeId.Parse("spiffe://example.org/orders");

        Assert.IsTrue(id.IsMemberOf(TrustDomain.Parse("example.org")));
        Assert.IsTrue(SpiffeId.Parse("spiffe://example.org").IsMemberOf(TrustDomain.Parse("example.org")));
        Assert.IsFalse(id.IsMemberOf(TrustDomain.Parse("example.org.evil")));
        Assert.IsFalse(id.IsMemberOf(TrustDomain.Parse("evil-example.org")));
        Assert.IsFalse(id.IsMemberOf(TrustDomain.Parse("org")));
        Assert.IsFalse(id.IsMemberOf(TrustDomain.Parse("other.example.org")));
        Assert.IsFalse(id.IsMemberOf(default));
    }

    [TestMethod]
    public void FormatExceptionMessage_EscapesAndTruncatesTheHostileInput()
    {
        FormatException forged = Assert.ThrowsExactly<FormatException>(() => SpiffeId.Parse("spiffe://example.org/x\r\n2025-01-01 INFO forged log line"));
        Assert.DoesNotContain("\n", forged.Message);
        Assert.DoesNotContain("\r", forged.Message);
        Assert.Contains("\\u000D\\u000A", forged.Message);

        FormatException huge = Assert.ThrowsExactly<FormatException>(() => SpiffeId.Parse(new string('x', 100_000)));
        Assert.IsLessThan(400, huge.Message.Length);
        Assert.Contains("2048 bytes", huge.Message);
    }

    [TestMethod]
    public void FormatExceptionMessage_QuotesTheInput_KeepingPrintableAsciiFromSpaceToTilde()
    {
        FormatException thrown = Assert.ThrowsExactly<FormatException>(() => SpiffeId.Parse("spiffe://example.org/ a~\u007F"));

        Assert.StartsWith("'spiffe://example.org/ a~\\u007F' is not a valid SPIFFE ID: ", thrown.Message);
    }

    [TestMethod]
    public void FormatExceptionMessage_EchoesAt120Characters_AndSaysWhenItTruncated()
    {
        string at120 = "spiffe://example.org/" + new string('x', 98) + "?";
        string at121 = at120 + "y";

        string whole = Assert.ThrowsExactly<FormatException>(() => SpiffeId.Parse(at120)).Message;
        string truncated = Assert.ThrowsExactly<FormatException>(() => SpiffeId.Parse(at121)).Message;

        Assert.AreEqual(120, at120.Length);
        Assert.StartsWith($"'{at120}' is not", whole);
        Assert.DoesNotContain("truncated", whole);
        Assert.StartsWith($"'{at120}' (truncated, 121 characters) is not", truncated);
    }

    [TestMethod]
    public void RefusingHostileInput_AllocatesNothing()
    {
        string[] hostile =
        [
            "spiffe://example.org/a/../admin", "spiffe://user:pw@example.org/x", "spiffe://Example.org/x", "SPIFFE://x/y",
            "spiffe://example.org/x?q", "spiffe://example.org/%2e%2e", new string('x', 5000), "spiffe://[::1]/x",
        ];
        bool any = Refuse(hostile); // warm up: JIT and tiering

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            any |= Refuse(hostile);
        }

        Assert.AreEqual(0L, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.IsFalse(any);

        static bool Refuse(string[] texts)
        {
            bool parsed = false;
            foreach (string text in texts)
            {
                parsed |= SpiffeId.TryParse(text, out _, out _);
            }

            return parsed;
        }
    }

    private static IEnumerable<string> Candidates()
    {
        for (int i = 0; i < 256; i++)
        {
            yield return ((char)i).ToString();
        }

        foreach (string trick in UnicodeTricks)
        {
            yield return trick;
        }
    }

    private static string ExpectedTrustDomainReason(char c) => c switch
    {
        '%' => "percent-encoding",
        '?' => "query",
        '#' => "fragment",
        ':' => "port",
        '@' => "userinfo",
        >= 'A' and <= 'Z' => "lowercase",
        _ => "trust domain characters are limited",
    };

    private static string ExpectedPathReason(char c) => c switch
    {
        '%' => "percent-encoding",
        '?' => "query",
        '#' => "fragment",
        _ => "path segment characters are limited",
    };
}
