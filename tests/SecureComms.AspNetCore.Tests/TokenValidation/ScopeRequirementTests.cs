using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace SecureComms.AspNetCore.Tests.TokenValidation;

/// <summary>
/// A scope counts only as a whole space-separated token of a <c>scope</c> or <c>scp</c> claim (RFC 9068 §2.2.3), in any
/// of the principal's identities; every required scope must be granted, and a denial names all of them.
/// </summary>
[TestClass]
public sealed class ScopeRequirementTests
{
    private static ClaimsPrincipal User(params (string Type, string Value)[] claims)
    {
        var identity = new ClaimsIdentity("test");
        foreach ((string type, string value) in claims)
        {
            identity.AddClaim(new Claim(type, value));
        }

        return new ClaimsPrincipal(identity);
    }

    [TestMethod]
    [DataRow("scope", "invoices.read", true, DisplayName = "scope claim, the only scope")]
    [DataRow("scp", "invoices.read", true, DisplayName = "scp claim")]
    [DataRow("scope", "orders.read invoices.read", true, DisplayName = "last of several")]
    [DataRow("scope", "invoices.read orders.read", true, DisplayName = "first of several")]
    [DataRow("scope", "invoices.readonly", false, DisplayName = "a longer scope that starts with it")]
    [DataRow("scope", "my.invoices.read", false, DisplayName = "a longer scope that ends with it")]
    [DataRow("scope", "invoices", false, DisplayName = "a part of it")]
    [DataRow("scope", "INVOICES.READ", false, DisplayName = "another case: scopes are case-sensitive")]
    [DataRow("scope", "", false, DisplayName = "an empty scope claim")]
    [DataRow("scopes", "invoices.read", false, DisplayName = "another claim type")]
    [DataRow("role", "invoices.read", false, DisplayName = "a role of that name")]
    public void HasScope_CountsOnlyAWholeScopeToken(string type, string value, bool expected)
    {
        Assert.AreEqual(expected, ScopeRequirement.HasScope(User((type, value)), "invoices.read"));
    }

    [TestMethod]
    public void HasScope_LooksAtEveryClaimAndEveryIdentity()
    {
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "orders")], "certificate"));
        principal.AddIdentity(new ClaimsIdentity([new Claim("scope", "orders.read"), new Claim("scp", "invoices.read")], "token"));

        Assert.IsTrue(ScopeRequirement.HasScope(principal, "invoices.read"));
        Assert.IsTrue(ScopeRequirement.HasScope(principal, "orders.read"));
        Assert.IsFalse(ScopeRequirement.HasScope(principal, "orders.write"));
    }

    [TestMethod]
    public void Decide_GrantsWhenEveryScopeIsPresent()
    {
        var requirement = new ScopeRequirement(["invoices.read", "invoices.write"]);
        var http = new DefaultHttpContext();

        Assert.IsNull(requirement.Decide(User(("scope", "invoices.write invoices.read")), http));
        Assert.IsFalse(http.Items.ContainsKey(ScopeRequirement.MissingScopesItem));
    }

    [TestMethod]
    [DataRow("invoices.read", DisplayName = "the second missing")]
    [DataRow("invoices.write", DisplayName = "the first missing")]
    [DataRow("", DisplayName = "both missing")]
    public void Decide_DeniesWhenAnyScopeIsMissing_NamingEveryRequiredScope(string granted)
    {
        var requirement = new ScopeRequirement(["invoices.read", "invoices.write"]);
        var http = new DefaultHttpContext();

        Assert.AreEqual(DenialReasons.InsufficientScope, requirement.Decide(User(("scope", granted)), http));
        Assert.AreEqual("invoices.read invoices.write", http.Items[ScopeRequirement.MissingScopesItem], "RFC 6750 §3.1: the scope attribute lists the scopes the resource needs");
        Assert.AreEqual(DenialReasons.InsufficientScope, requirement.Decide(User(("scope", granted)), resource: null), "without an HTTP context, the reason alone");
    }

    [TestMethod]
    public void ToString_NamesTheScopes()
    {
        Assert.AreEqual("scopes invoices.read invoices.write", new ScopeRequirement(["invoices.read", "invoices.write"]).ToString());
    }
}
