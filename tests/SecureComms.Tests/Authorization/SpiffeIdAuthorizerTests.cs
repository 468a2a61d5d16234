namespace SecureComms.Tests.Authorization;

/// <summary>Peer authorizers: each row is an ID that must or must not get through, boundary tricks included.</summary>
[TestClass]
public sealed class SpiffeIdAuthorizerTests
{
    [TestMethod]
    [DataRow("spiffe://example.org/orders", "spiffe://example.org/orders", true, DisplayName = "exact: the ID itself")]
    [DataRow("spiffe://example.org/orders", "spiffe://example.org/orders/v2", false, DisplayName = "exact: not a child")]
    [DataRow("spiffe://example.org/orders", "spiffe://example.org/Orders", false, DisplayName = "exact: case-sensitive path")]
    [DataRow("spiffe://example.org/orders", "spiffe://example.org.evil/orders", false, DisplayName = "exact: trust-domain suffix trick")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/ns", true, DisplayName = "prefix: the prefix itself")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/ns/orders", true, DisplayName = "prefix: a child")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/ns/a/b/c", true, DisplayName = "prefix: a grandchild")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/nsx", false, DisplayName = "prefix: not across a segment boundary")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://example.org/nsx/orders", false, DisplayName = "prefix: not a sibling's child")]
    [DataRow("spiffe://example.org/ns/*", "spiffe://other.org/ns/orders", false, DisplayName = "prefix: same path, other trust domain")]
    [DataRow("spiffe://example.org/*", "spiffe://example.org/anything", true, DisplayName = "trust domain: member")]
    [DataRow("spiffe://example.org/*", "spiffe://example.org.evil/anything", false, DisplayName = "trust domain: suffix trick")]
    [DataRow("spiffe://example.org/*", "spiffe://evil-example.org/anything", false, DisplayName = "trust domain: prefix trick")]
    [DataRow("*", "spiffe://anything.org/x", true, DisplayName = "any: every valid ID")]
    public void Pattern_AuthorizesExactlyWhatItSays(string pattern, string id, bool expected)
    {
        Assert.AreEqual(expected, SpiffeIdAuthorizer.Parse(pattern).IsAuthorized(SpiffeId.Parse(id)));
    }

    [TestMethod]
    [DataRow("*")]
    [DataRow("spiffe://example.org/*")]
    [DataRow("spiffe://example.org/orders")]
    [DataRow("spiffe://example.org/ns/*")]
    public void EmptyId_IsNeverAuthorized(string pattern)
    {
        Assert.IsFalse(SpiffeIdAuthorizer.Parse(pattern).IsAuthorized(default));
    }

    [TestMethod]
    [DataRow("", "empty")]
    [DataRow("spiffe://example.org", "names a trust domain", DisplayName = "a bare trust domain ID must say /* on purpose")]
    [DataRow("spiffe://example.org/ns*", "'*' is only allowed")]
    [DataRow("spiffe://example.org/*/orders", "'*' is only allowed")]
    [DataRow("spiffe://Example.org/orders", "lowercase")]
    [DataRow("https://example.org/orders", "scheme")]
    public void InvalidPattern_IsRefusedWithAReason(string pattern, string reason)
    {
        Assert.IsFalse(SpiffeIdAuthorizer.TryParse(pattern, out _, out string? error));
        StringAssert.Contains(error, reason);
        Assert.ThrowsExactly<FormatException>(() => SpiffeIdAuthorizer.Parse(pattern));
    }

    [TestMethod]
    public void OneOf_AuthorizesOnlyTheListedIds()
    {
        SpiffeIdAuthorizer authorizer = SpiffeIdAuthorizer.OneOf(SpiffeId.Parse("spiffe://example.org/a"), SpiffeId.Parse("spiffe://example.org/b"));

        Assert.IsTrue(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org/a")));
        Assert.IsTrue(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org/b")));
        Assert.IsFalse(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org/c")));
        Assert.ThrowsExactly<ArgumentException>(() => SpiffeIdAuthorizer.OneOf());
    }

    [TestMethod]
    public void Composition_AllOfAndAnyOf()
    {
        SpiffeIdAuthorizer team = SpiffeIdAuthorizer.Parse("spiffe://example.org/team/*");
        SpiffeIdAuthorizer notAdmin = SpiffeIdAuthorizer.AnyOf(SpiffeIdAuthorizer.Parse("spiffe://example.org/team/orders"), SpiffeIdAuthorizer.Parse("spiffe://example.org/team/billing"));
        SpiffeIdAuthorizer both = SpiffeIdAuthorizer.AllOf(team, notAdmin);

        Assert.IsTrue(both.IsAuthorized(SpiffeId.Parse("spiffe://example.org/team/orders")));
        Assert.IsFalse(both.IsAuthorized(SpiffeId.Parse("spiffe://example.org/team/admin")), "in the team but not in the list");
        Assert.IsFalse(both.IsAuthorized(SpiffeId.Parse("spiffe://example.org/orders")), "in no branch");
        Assert.IsTrue(SpiffeIdAuthorizer.AnyOf(team, SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://partner.org/x"))).IsAuthorized(SpiffeId.Parse("spiffe://partner.org/x")));
    }

    [TestMethod]
    public void MemberOf_And_Prefix_OfATrustDomainId_AreTheSame()
    {
        SpiffeIdAuthorizer member = SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse("example.org"));
        SpiffeIdAuthorizer prefix = SpiffeIdAuthorizer.Prefix(SpiffeId.Parse("spiffe://example.org"));

        foreach (string id in new[] { "spiffe://example.org/a", "spiffe://example.org.evil/a", "spiffe://other.org/a" })
        {
            Assert.AreEqual(member.IsAuthorized(SpiffeId.Parse(id)), prefix.IsAuthorized(SpiffeId.Parse(id)), id);
        }
    }

    [TestMethod]
    public void ToString_DescribesTheRule_ForLogs()
    {
        StringAssert.Contains(SpiffeIdAuthorizer.Parse("spiffe://example.org/orders").ToString(), "spiffe://example.org/orders");
        StringAssert.Contains(SpiffeIdAuthorizer.Parse("spiffe://example.org/*").ToString(), "example.org");
    }
}
