using FsCheck;
using FsCheck.Fluent;

namespace SecureComms.Tests.Authorization;

/// <summary>Peer authorizers: each row is an ID that must or must not get through, boundary tricks included.</summary>
[TestClass]
public sealed class SpiffeIdAuthorizerTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    [TestMethod]
    // Exact
    [DataRow("spiffe://example.org/orders", "spiffe://example.org/orders", true, DisplayName = "exact: the ID itself")]
    [DataRow("spiffe://example.org/orders", "spiffe://example.org/orders/v2", false, DisplayName = "exact: not a child")]
    [DataRow("spiffe://example.org/orders", "spiffe://example.org/order", false, DisplayName = "exact: not a shorter ID")]
    [DataRow("spiffe://example.org/orders", "spiffe://example.org/ordersx", false, DisplayName = "exact: not a longer ID")]
    [DataRow("spiffe://example.org/orders", "spiffe://example.org/Orders", false, DisplayName = "exact: paths are case-sensitive")]
    [DataRow("spiffe://example.org/orders", "spiffe://example.org", false, DisplayName = "exact: not the trust domain")]
    [DataRow("spiffe://example.org/orders", "spiffe://other.org/orders", false, DisplayName = "exact: same path, other trust domain")]
    [DataRow("spiffe://example.org/orders", "spiffe://example.org.evil/orders", false, DisplayName = "exact: trust-domain suffix trick")]
    [DataRow("spiffe://example.org/orders", "spiffe://evil.example.org/orders", false, DisplayName = "exact: subdomain trick")]
    // Prefix on segment boundaries
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/ns", true, DisplayName = "prefix: the prefix itself")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/ns/orders", true, DisplayName = "prefix: a child")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/ns/a/b/c", true, DisplayName = "prefix: a grandchild")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/ns/.../x", true, DisplayName = "prefix: a '...' segment is an ordinary name")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/nsx", false, DisplayName = "prefix: not across a segment boundary")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/ns.x", false, DisplayName = "prefix: not with a dot")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/ns-x", false, DisplayName = "prefix: not with a dash")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/ns_x/y", false, DisplayName = "prefix: not with an underscore")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/nsx/orders", false, DisplayName = "prefix: not a sibling's child")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/n", false, DisplayName = "prefix: not a shorter path")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/NS/orders", false, DisplayName = "prefix: case-sensitive")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/x/ns/orders", false, DisplayName = "prefix: anchored at the start of the path")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org", false, DisplayName = "prefix: not the trust domain")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://other.org/ns/orders", false, DisplayName = "prefix: same path, other trust domain")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org.evil/ns/orders", false, DisplayName = "prefix: trust-domain suffix trick")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.orgns/orders", false, DisplayName = "prefix: trust domain glued to the path")]
    // Member of a trust domain
    [DataRow("spiffe://example.org/*", "spiffe://example.org/anything", true, DisplayName = "trust domain: member")]
    [DataRow("spiffe://example.org/*", "spiffe://example.org/a/b/c", true, DisplayName = "trust domain: deep member")]
    [DataRow("spiffe://example.org/*", "spiffe://example.org.evil/anything", false, DisplayName = "trust domain: suffix trick")]
    [DataRow("spiffe://example.org/*", "spiffe://evil-example.org/anything", false, DisplayName = "trust domain: prefix trick")]
    [DataRow("spiffe://example.org/*", "spiffe://evil.example.org/anything", false, DisplayName = "trust domain: subdomain trick")]
    [DataRow("spiffe://example.org/*", "spiffe://example.or/anything", false, DisplayName = "trust domain: truncated")]
    [DataRow("spiffe://example.org/*", "spiffe://org/example.org", false, DisplayName = "trust domain: in the path")]
    // Any
    [DataRow("*", "spiffe://anything.org/x", true, DisplayName = "any: every valid ID")]
    [DataRow("*", "spiffe://example.org", true, DisplayName = "any: even a trust-domain ID")]
    public void Pattern_AuthorizesExactlyWhatItSays(string pattern, string id, bool expected)
    {
        SpiffeIdAuthorizer authorizer = SpiffeIdAuthorizer.Parse(pattern);

        Assert.AreEqual(expected, authorizer.IsAuthorized(SpiffeId.Parse(id)), authorizer.ToString());
    }

    [TestMethod]
    [DataRow("spiffe://example.org/ns", "spiffe://example.org/ns", true)]
    [DataRow("spiffe://example.org/ns", "spiffe://example.org/ns/x", true)]
    [DataRow("spiffe://example.org/ns", "spiffe://example.org/nsx", false)]
    [DataRow("spiffe://example.org/ns/a", "spiffe://example.org/ns", false, DisplayName = "a parent is not below its child")]
    [DataRow("spiffe://example.org/ns", "spiffe://example.org.evil/ns/x", false)]
    [DataRow("spiffe://example.org", "spiffe://example.org/x", true, DisplayName = "the prefix of a trust-domain ID is its members")]
    [DataRow("spiffe://example.org", "spiffe://example.org.evil/x", false)]
    public void Prefix_MatchesOnlyOnSegmentBoundaries(string prefix, string id, bool expected)
    {
        Assert.AreEqual(expected, SpiffeIdAuthorizer.Prefix(SpiffeId.Parse(prefix)).IsAuthorized(SpiffeId.Parse(id)));
    }

    [TestMethod]
    public void EmptyId_IsNeverAuthorized_ByAnyAuthorizer()
    {
        var authorizers = new[]
        {
            SpiffeIdAuthorizer.Any(),
            SpiffeIdAuthorizer.Parse("*"),
            SpiffeIdAuthorizer.Exact(Orders),
            SpiffeIdAuthorizer.OneOf(Orders),
            SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse("example.org")),
            SpiffeIdAuthorizer.Prefix(Orders),
            SpiffeIdAuthorizer.Prefix(TrustDomain.Parse("example.org").Id),
            SpiffeIdAuthorizer.Parse("spiffe://example.org/*"),
            SpiffeIdAuthorizer.AllOf(SpiffeIdAuthorizer.Any(), new AlwaysYes()),
            SpiffeIdAuthorizer.AnyOf(new AlwaysYes()),
        };

        foreach (SpiffeIdAuthorizer authorizer in authorizers)
        {
            Assert.IsFalse(authorizer.IsAuthorized(default), authorizer.ToString());
        }
    }

    [TestMethod]
    [DataRow(null, "empty", DisplayName = "null")]
    [DataRow("", "empty", DisplayName = "empty")]
    [DataRow(" ", "scheme", DisplayName = "a space")]
    [DataRow("**", "'*' is only allowed", DisplayName = "double star")]
    [DataRow("*/*", "'*' is only allowed", DisplayName = "star segments without an ID")]
    [DataRow("spiffe://example.org/ns*", "'*' is only allowed", DisplayName = "star glued to a segment")]
    [DataRow("spiffe://example.org/*/orders", "'*' is only allowed", DisplayName = "star in the middle")]
    [DataRow("spiffe://example.org/ns/**", "'*' is only allowed", DisplayName = "recursive glob")]
    [DataRow("spiffe://*.example.org/x", "'*' is only allowed", DisplayName = "wildcard trust domain")]
    [DataRow("spiffe://*", "'*' is only allowed", DisplayName = "wildcard authority")]
    [DataRow("spiffe://example.org", "names a trust domain", DisplayName = "a bare trust-domain ID must say /* on purpose")]
    [DataRow("spiffe://Example.org/orders", "lowercase", DisplayName = "uppercase trust domain")]
    [DataRow("SPIFFE://example.org/orders", "lowercase", DisplayName = "uppercase scheme")]
    [DataRow("https://example.org/orders", "scheme", DisplayName = "another scheme")]
    [DataRow("example.org/orders", "scheme", DisplayName = "no scheme")]
    [DataRow("spiffe:///*", "trust domain is missing", DisplayName = "no trust domain")]
    [DataRow("spiffe://example.org:443/*", "port", DisplayName = "port")]
    [DataRow("spiffe://user@example.org/*", "userinfo", DisplayName = "userinfo")]
    [DataRow("spiffe://example.org/orders/", "trailing", DisplayName = "trailing slash")]
    [DataRow("spiffe://example.org//*", "trailing", DisplayName = "double slash before the star")]
    [DataRow("spiffe://example.org/a//b", "empty segments", DisplayName = "empty segment")]
    [DataRow("spiffe://example.org/../*", "dot segments", DisplayName = "dot-dot segment")]
    [DataRow("spiffe://example.org/orders?x=1", "query", DisplayName = "query")]
    [DataRow("spiffe://example.org/orders#x", "fragment", DisplayName = "fragment")]
    [DataRow("spiffe://example.org/%2A", "percent-encoding", DisplayName = "percent-encoded star")]
    [DataRow("spiffe://example.org/orders ", "path segment characters", DisplayName = "trailing space")]
    public void InvalidPattern_IsRefusedWithAPreciseReason(string? pattern, string reason)
    {
        Assert.IsFalse(SpiffeIdAuthorizer.TryParse(pattern, out SpiffeIdAuthorizer? authorizer, out string? error));
        Assert.IsNull(authorizer);
        Assert.Contains(reason, error);

        FormatException thrown = Assert.ThrowsExactly<FormatException>(() => SpiffeIdAuthorizer.Parse(pattern!));
        Assert.Contains(reason, thrown.Message);
    }

    [TestMethod]
    public void OneOf_AuthorizesOnlyTheListedIds()
    {
        SpiffeIdAuthorizer authorizer = SpiffeIdAuthorizer.OneOf(SpiffeId.Parse("spiffe://example.org/a"), SpiffeId.Parse("spiffe://example.org/b"), SpiffeId.Parse("spiffe://example.org/a"));

        Assert.IsTrue(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org/a")));
        Assert.IsTrue(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org/b")));
        Assert.IsFalse(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org/c")));
        Assert.IsFalse(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org/a/b")));
        Assert.IsFalse(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org/A")));
        Assert.IsFalse(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org.evil/a")));
    }

    [TestMethod]
    public void OneOf_WithAnEnumerableOfAHundredIds_FindsEachOneAndNoOther()
    {
        var ids = new List<SpiffeId>();
        for (int i = 0; i < 100; i++)
        {
            ids.Add(SpiffeId.Parse($"spiffe://example.org/service-{i}"));
        }

        SpiffeIdAuthorizer authorizer = SpiffeIdAuthorizer.OneOf(ids);

        foreach (SpiffeId id in ids)
        {
            Assert.IsTrue(authorizer.IsAuthorized(id), id.ToString());
        }

        Assert.IsFalse(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org/service-100")));
        Assert.IsFalse(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org/service-1/x")));
        Assert.Contains("95 more", authorizer.ToString()!);
    }

    [TestMethod]
    public void Factories_RefuseEmptyOrMissingArguments()
    {
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeIdAuthorizer.Exact(default));
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeIdAuthorizer.Prefix(default));
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeIdAuthorizer.MemberOf(default));
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeIdAuthorizer.OneOf());
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeIdAuthorizer.OneOf(new List<SpiffeId>()));
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeIdAuthorizer.OneOf(Orders, default));
        Assert.ThrowsExactly<ArgumentNullException>(() => SpiffeIdAuthorizer.OneOf((IEnumerable<SpiffeId>)null!));
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeIdAuthorizer.AllOf());
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeIdAuthorizer.AnyOf());
        Assert.ThrowsExactly<ArgumentNullException>(() => SpiffeIdAuthorizer.AllOf(null!));
        Assert.ThrowsExactly<ArgumentNullException>(() => SpiffeIdAuthorizer.AnyOf(SpiffeIdAuthorizer.Any(), null!));
    }

    [TestMethod]
    public void Composition_AllOfAndAnyOf()
    {
        SpiffeIdAuthorizer team = SpiffeIdAuthorizer.Parse("spiffe://example.org/team/*");
        SpiffeIdAuthorizer listed = SpiffeIdAuthorizer.AnyOf(SpiffeIdAuthorizer.Parse("spiffe://example.org/team/orders"), SpiffeIdAuthorizer.Parse("spiffe://example.org/team/billing"));
        SpiffeIdAuthorizer both = SpiffeIdAuthorizer.AllOf(team, listed);

        Assert.IsTrue(both.IsAuthorized(SpiffeId.Parse("spiffe://example.org/team/orders")));
        Assert.IsTrue(both.IsAuthorized(SpiffeId.Parse("spiffe://example.org/team/billing")));
        Assert.IsFalse(both.IsAuthorized(SpiffeId.Parse("spiffe://example.org/team/admin")), "in the team but not in the list");
        Assert.IsFalse(both.IsAuthorized(SpiffeId.Parse("spiffe://example.org/orders")), "in no branch");

        SpiffeIdAuthorizer partnerOrTeam = SpiffeIdAuthorizer.AnyOf(team, SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://partner.org/x")));
        Assert.IsTrue(partnerOrTeam.IsAuthorized(SpiffeId.Parse("spiffe://partner.org/x")));
        Assert.IsTrue(partnerOrTeam.IsAuthorized(SpiffeId.Parse("spiffe://example.org/team/x")));
        Assert.IsFalse(partnerOrTeam.IsAuthorized(SpiffeId.Parse("spiffe://partner.org/y")));

        SpiffeIdAuthorizer nothing = SpiffeIdAuthorizer.AllOf(SpiffeIdAuthorizer.Exact(Orders), SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse("other.org")));
        Assert.IsFalse(nothing.IsAuthorized(Orders), "contradictory rules authorize nobody");
    }

    [TestMethod]
    public void Composition_CopiesItsArguments_SoLaterChangesToTheArrayDoNotWidenIt()
    {
        SpiffeIdAuthorizer[] rules = [SpiffeIdAuthorizer.Exact(Orders)];
        SpiffeIdAuthorizer anyOf = SpiffeIdAuthorizer.AnyOf(rules);

        rules[0] = SpiffeIdAuthorizer.Any();

        Assert.IsFalse(anyOf.IsAuthorized(SpiffeId.Parse("spiffe://evil.org/x")));
    }

    [TestMethod]
    public void MemberOf_And_Prefix_OfATrustDomainId_AndTheStarPattern_AreTheSame()
    {
        SpiffeIdAuthorizer member = SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse("example.org"));
        SpiffeIdAuthorizer prefix = SpiffeIdAuthorizer.Prefix(SpiffeId.Parse("spiffe://example.org"));
        SpiffeIdAuthorizer pattern = SpiffeIdAuthorizer.Parse("spiffe://example.org/*");

        foreach (string text in new[] { "spiffe://example.org", "spiffe://example.org/a", "spiffe://example.org.evil/a", "spiffe://other.org/a" })
        {
            SpiffeId id = SpiffeId.Parse(text);
            Assert.AreEqual(member.IsAuthorized(id), prefix.IsAuthorized(id), text);
            Assert.AreEqual(member.IsAuthorized(id), pattern.IsAuthorized(id), text);
        }
    }

    [TestMethod]
    public void ToString_DescribesTheRule_ForLogs()
    {
        Assert.AreEqual("exact spiffe://example.org/orders", SpiffeIdAuthorizer.Parse("spiffe://example.org/orders").ToString());
        Assert.AreEqual("member of example.org", SpiffeIdAuthorizer.Parse("spiffe://example.org/*").ToString());
        Assert.AreEqual("prefix spiffe://example.org/ns (itself and below)", SpiffeIdAuthorizer.Parse("spiffe://example.org/ns/*").ToString());
        Assert.AreEqual("any SPIFFE ID", SpiffeIdAuthorizer.Parse("*").ToString());
        Assert.AreEqual("one of [spiffe://example.org/orders]", SpiffeIdAuthorizer.OneOf(Orders).ToString());
        Assert.AreEqual(
            "all of (member of example.org; any of (exact spiffe://example.org/orders; prefix spiffe://example.org/ns (itself and below)))",
            SpiffeIdAuthorizer.AllOf(
                SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse("example.org")),
                SpiffeIdAuthorizer.AnyOf(SpiffeIdAuthorizer.Exact(Orders), SpiffeIdAuthorizer.Parse("spiffe://example.org/ns/*"))).ToString());
    }

    [TestMethod]
    public void IsAuthorized_AllocatesNothing()
    {
        var oneOf = new List<SpiffeId>();
        for (int i = 0; i < 100; i++)
        {
            oneOf.Add(SpiffeId.Parse($"spiffe://example.org/service-{i}"));
        }

        SpiffeIdAuthorizer[] authorizers =
        [
            SpiffeIdAuthorizer.Any(),
            SpiffeIdAuthorizer.Exact(Orders),
            SpiffeIdAuthorizer.OneOf(oneOf),
            SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse("example.org")),
            SpiffeIdAuthorizer.Parse("spiffe://example.org/ns/*"),
            SpiffeIdAuthorizer.AllOf(SpiffeIdAuthorizer.Parse("spiffe://example.org/*"), SpiffeIdAuthorizer.Parse("spiffe://example.org/ns/*")),
            SpiffeIdAuthorizer.AnyOf(SpiffeIdAuthorizer.Exact(Orders), SpiffeIdAuthorizer.OneOf(oneOf)),
        ];
        SpiffeId[] ids = [Orders, SpiffeId.Parse("spiffe://example.org/ns/x"), SpiffeId.Parse("spiffe://example.org/service-42"), SpiffeId.Parse("spiffe://other.org/x"), default];

        int authorized = Run(authorizers, ids); // warm up: JIT and tiering
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            authorized += Run(authorizers, ids);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.AreEqual(0L, allocated);
        Assert.IsGreaterThan(0, authorized);

        static int Run(SpiffeIdAuthorizer[] authorizers, SpiffeId[] ids)
        {
            int count = 0;
            foreach (SpiffeIdAuthorizer authorizer in authorizers)
            {
                foreach (SpiffeId id in ids)
                {
                    count += authorizer.IsAuthorized(id) ? 1 : 0;
                }
            }

            return count;
        }
    }

    [TestMethod]
    public void Prefix_AgreesWithTheSegmentBoundaryRule_ForGeneratedIds()
    {
        Gen<string> segment = Gen.Choose(1, 4)
            .SelectMany(n => Gen.ArrayOf(Gen.Elements("ab.-_A1".ToCharArray()), n))
            .Select(chars => new string(chars))
            .Where(s => s is not ("." or ".."));
        Gen<string> path = Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(segment, n)).Select(s => "/" + string.Join('/', s));
        Gen<string> trustDomain = Gen.Elements("example.org", "example.org.evil", "example.or", "evil-example.org");
        Gen<(string Prefix, string Id)> cases =
            from prefixPath in path
            from idTrustDomain in trustDomain
            from idPath in Gen.OneOf(path, path.Select(p => prefixPath + p), path.Select(p => prefixPath + p[1..]), Gen.Constant(prefixPath))
            select ("spiffe://example.org" + prefixPath, "spiffe://" + idTrustDomain + idPath);

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(cases.ToArbitrary(), c =>
        {
            SpiffeId id = SpiffeId.Parse(c.Id);
            bool expected = c.Id == c.Prefix || c.Id.StartsWith(c.Prefix + "/", StringComparison.Ordinal);
            return SpiffeIdAuthorizer.Prefix(SpiffeId.Parse(c.Prefix)).IsAuthorized(id) == expected
                && SpiffeIdAuthorizer.Parse(c.Prefix + "/*").IsAuthorized(id) == expected;
        }));
    }

    private sealed class AlwaysYes : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id) => true;

        public override string ToString() => "always yes (test)";
    }
}
