using System.Security.Claims;

namespace SecureComms.AspNetCore.Tests.Authorization;

/// <summary>The central policy: default deny, deny beats allow, audit never decides, scopes and claims, canonical paths.</summary>
[TestClass]
public sealed class CentralPolicyTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");
    private static readonly SpiffeId Analytics = SpiffeId.Parse("spiffe://example.org/team/analytics");

    private static CallerRuleOptions Rule(string name, PolicyAction action, string caller, string path, string? method = null, string? scope = null, (string, string)? claim = null)
    {
        var rule = new CallerRuleOptions { Name = name, Action = action };
        rule.Callers.Add(caller);
        rule.Paths.Add(path);
        if (method is not null)
        {
            rule.Methods.Add(method);
        }

        if (scope is not null)
        {
            rule.Scopes.Add(scope);
        }

        if (claim is { } c)
        {
            rule.Claims[c.Item1] = c.Item2;
        }

        return rule;
    }

    private static CentralPolicy Policy(bool dryRun = false, params CallerRuleOptions[] rules)
    {
        var options = new SecureCommsAuthorizationOptions { DryRun = dryRun };
        foreach (CallerRuleOptions rule in rules)
        {
            options.Rules.Add(rule);
        }

        var errors = new List<string>();
        CentralPolicy policy = CentralPolicy.Compile(options, errors);
        Assert.IsEmpty(errors, string.Join("; ", errors));
        return policy;
    }

    private static ClaimsPrincipal User(string? scope = null, params (string, string)[] claims)
    {
        var identity = new ClaimsIdentity("test");
        if (scope is not null)
        {
            identity.AddClaim(new Claim("scope", scope));
        }

        foreach ((string type, string value) in claims)
        {
            identity.AddClaim(new Claim(type, value));
        }

        return new ClaimsPrincipal(identity);
    }

    private static PolicyDecision Evaluate(CentralPolicy policy, SpiffeId caller, string path, string method = "GET", ClaimsPrincipal? user = null) =>
        policy.Evaluate(new PolicyRequest(caller, method, path, user ?? User()));

    [TestMethod]
    public void NoRules_DeniesEverything()
    {
        PolicyDecision decision = Evaluate(Policy(), Orders, "/invoices");

        Assert.IsFalse(decision.Allowed);
        Assert.AreEqual(PolicyDecision.NoMatchingRule, decision.Reason);
    }

    [TestMethod]
    [DataRow(true, DisplayName = "deny listed after allow")]
    [DataRow(false, DisplayName = "deny listed before allow")]
    public void DenyBeatsAllow_InEitherOrder(bool allowFirst)
    {
        CallerRuleOptions allow = Rule("orders-all", PolicyAction.Allow, "spiffe://example.org/*", "/*");
        CallerRuleOptions deny = Rule("no-admin", PolicyAction.Deny, "spiffe://example.org/orders", "/admin/*");
        CentralPolicy policy = allowFirst ? Policy(false, allow, deny) : Policy(false, deny, allow);

        PolicyDecision admin = Evaluate(policy, Orders, "/admin/users");
        PolicyDecision invoices = Evaluate(policy, Orders, "/invoices");

        Assert.IsFalse(admin.Allowed);
        Assert.AreEqual(PolicyDecision.DeniedByRule, admin.Reason);
        Assert.AreEqual("no-admin", admin.Rule);
        Assert.IsTrue(invoices.Allowed);
        Assert.AreEqual("orders-all", invoices.Rule);
    }

    [TestMethod]
    public void AuditRule_IsReported_ButNeverDecides()
    {
        CentralPolicy policy = Policy(false, Rule("watch-exports", PolicyAction.Audit, "*", "/exports/*"));

        PolicyDecision decision = Evaluate(policy, Orders, "/exports/all");

        Assert.IsFalse(decision.Allowed, "an audit rule alone allows nothing");
        Assert.AreSequenceEqual(new[] { "watch-exports" }, decision.AuditRules.ToArray());
    }

    [TestMethod]
    [DataRow("invoices.read", true)]
    [DataRow("invoices.write invoices.read", true, DisplayName = "one of several granted scopes")]
    [DataRow("invoices.write", false)]
    [DataRow(null, false, DisplayName = "no scope at all")]
    public void RequiredScope_MustBeGranted(string? scope, bool allowed)
    {
        CentralPolicy policy = Policy(false, Rule("read", PolicyAction.Allow, "spiffe://example.org/orders", "/invoices/*", scope: "invoices.read"));

        Assert.AreEqual(allowed, Evaluate(policy, Orders, "/invoices/1", user: User(scope)).Allowed);
    }

    [TestMethod]
    public void AllowRuleMissingOnlyScopes_DeniesAsInsufficientScope_NamingTheRulesScopes()
    {
        CallerRuleOptions write = Rule("write", PolicyAction.Allow, "spiffe://example.org/orders", "/invoices/*", scope: "invoices.write");
        write.Scopes.Add("invoices.audit");
        CentralPolicy policy = Policy(false, write);

        PolicyDecision decision = Evaluate(policy, Orders, "/invoices/1", user: User("invoices.read"));

        Assert.IsFalse(decision.Allowed);
        Assert.AreEqual(PolicyDecision.InsufficientScope, decision.Reason);
        Assert.AreEqual("write", decision.Rule);
        Assert.AreEqual("invoices.write invoices.audit", decision.MissingScopes, "every scope of the rule, as RFC 6750 §3.1's scope attribute");
    }

    [TestMethod]
    [DataRow("caller", DisplayName = "another caller")]
    [DataRow("path", DisplayName = "another path")]
    [DataRow("method", DisplayName = "another method")]
    [DataRow("claim", DisplayName = "a missing claim")]
    public void RuleThatFailsOnMoreThanScopes_IsNoMatch_AndNamesNoScope(string differs)
    {
        CentralPolicy policy = Policy(false, Rule("write", PolicyAction.Allow, "spiffe://example.org/orders", "/invoices/*", method: "POST", scope: "invoices.write", claim: ("tier", "gold")));
        ClaimsPrincipal user = differs == "claim" ? User("invoices.read") : User("invoices.read", ("tier", "gold"));

        PolicyDecision decision = Evaluate(
            policy,
            differs == "caller" ? Analytics : Orders,
            differs == "path" ? "/reports/1" : "/invoices/1",
            differs == "method" ? "GET" : "POST",
            user);

        Assert.AreEqual(PolicyDecision.NoMatchingRule, decision.Reason);
        Assert.IsNull(decision.MissingScopes);
    }

    [TestMethod]
    public void DenyRule_StillWins_OverAnAllowRuleMissingOnlyScopes()
    {
        CentralPolicy policy = Policy(
            false,
            Rule("write", PolicyAction.Allow, "spiffe://example.org/orders", "/invoices/*", scope: "invoices.write"),
            Rule("no-orders", PolicyAction.Deny, "spiffe://example.org/orders", "/invoices/*"));

        PolicyDecision decision = Evaluate(policy, Orders, "/invoices/1", user: User("invoices.read"));

        Assert.AreEqual(PolicyDecision.DeniedByRule, decision.Reason);
        Assert.AreEqual("no-orders", decision.Rule);
        Assert.IsNull(decision.MissingScopes);
    }

    [TestMethod]
    public void AnAllowRuleThatMatches_Allows_ThoughAnotherLacksScopes()
    {
        CentralPolicy policy = Policy(
            false,
            Rule("write", PolicyAction.Allow, "spiffe://example.org/orders", "/invoices/*", scope: "invoices.write"),
            Rule("read", PolicyAction.Allow, "*", "/invoices/*", scope: "invoices.read"));

        PolicyDecision decision = Evaluate(policy, Orders, "/invoices/1", user: User("invoices.read"));

        Assert.IsTrue(decision.Allowed);
        Assert.AreEqual("read", decision.Rule);
    }

    [TestMethod]
    public void SeveralAllowRulesMissingOnlyScopes_TheFirstListedIsNamed_WhateverTheIndexVisitsFirst()
    {
        // The exact-caller index is visited before the '*' rules; the rule listed first in configuration is named.
        CentralPolicy policy = Policy(
            false,
            Rule("any-caller-admin", PolicyAction.Allow, "*", "/invoices/*", scope: "invoices.admin"),
            Rule("orders-write", PolicyAction.Allow, "spiffe://example.org/orders", "/invoices/*", scope: "invoices.write"));

        PolicyDecision decision = Evaluate(policy, Orders, "/invoices/1", user: User("invoices.read"));

        Assert.AreEqual(PolicyDecision.InsufficientScope, decision.Reason);
        Assert.AreEqual("any-caller-admin", decision.Rule);
        Assert.AreEqual("invoices.admin", decision.MissingScopes);
    }

    [TestMethod]
    [DataRow("gold", true)]
    [DataRow("silver", false)]
    public void RequiredClaim_MustBePresentWithThatValue(string tier, bool allowed)
    {
        CentralPolicy policy = Policy(false, Rule("gold-only", PolicyAction.Allow, "spiffe://example.org/orders", "/premium", claim: ("tier", "gold")));

        Assert.AreEqual(allowed, Evaluate(policy, Orders, "/premium", user: User(null, ("tier", tier))).Allowed);
    }

    [TestMethod]
    public void Methods_AreHonoured()
    {
        CentralPolicy policy = Policy(false, Rule("read", PolicyAction.Allow, "spiffe://example.org/orders", "/invoices", method: "GET"));

        Assert.IsTrue(Evaluate(policy, Orders, "/invoices", "GET").Allowed);
        Assert.IsTrue(Evaluate(policy, Orders, "/invoices", "get").Allowed);
        Assert.IsFalse(Evaluate(policy, Orders, "/invoices", "DELETE").Allowed);
    }

    [TestMethod]
    [DataRow("spiffe://example.org/team/*", true, DisplayName = "prefix of the caller")]
    [DataRow("spiffe://example.org/team/analytics", true, DisplayName = "exact caller")]
    [DataRow("spiffe://example.org/*", true, DisplayName = "trust domain of the caller")]
    [DataRow("*", true, DisplayName = "any caller")]
    [DataRow("spiffe://example.org/tea/*", false, DisplayName = "prefix is not on a segment boundary")]
    [DataRow("spiffe://other.org/*", false, DisplayName = "another trust domain")]
    [DataRow("spiffe://example.org/team/analytics/batch", false, DisplayName = "a child of the caller")]
    public void CallerPatterns_AreIndexed_AndMatchOnBoundaries(string pattern, bool allowed)
    {
        CentralPolicy policy = Policy(false, Rule("r", PolicyAction.Allow, pattern, "/*"));

        Assert.AreEqual(allowed, Evaluate(policy, Analytics, "/x").Allowed);
    }

    [TestMethod]
    [DataRow("//admin", true, DisplayName = "doubled slash is collapsed, then matched")]
    [DataRow("/ADMIN", true, DisplayName = "case, as routing matches")]
    [DataRow("/admin/", true, DisplayName = "trailing slash")]
    [DataRow("/./admin", false, DisplayName = "dot segment refused")]
    [DataRow("/x/../admin", false, DisplayName = "dot-dot segment refused")]
    [DataRow("/%2Fadmin", false, DisplayName = "encoded slash refused")]
    [DataRow("/%2fadmin", false, DisplayName = "encoded slash, lowercase, refused")]
    [DataRow("/admin%5C", false, DisplayName = "encoded backslash refused")]
    [DataRow("/admin\\x", false, DisplayName = "backslash refused")]
    public void PathTricks_CannotSlipPastADenyRule(string path, bool canonical)
    {
        CentralPolicy policy = Policy(false,
            Rule("all", PolicyAction.Allow, "spiffe://example.org/*", "/*"),
            Rule("no-admin", PolicyAction.Deny, "spiffe://example.org/*", "/admin/*"));

        PolicyDecision decision = Evaluate(policy, Orders, path);

        Assert.IsFalse(decision.Allowed, path);
        Assert.AreEqual(canonical ? PolicyDecision.DeniedByRule : PolicyDecision.NonCanonicalPath, decision.Reason, path);
    }

    [TestMethod]
    [DataRow("/admin", true, DisplayName = "the exact path")]
    [DataRow("/admin/", true, DisplayName = "trailing slash")]
    [DataRow("/admin//", true, DisplayName = "trailing slashes")]
    [DataRow("//admin", true, DisplayName = "doubled leading slash")]
    [DataRow("/Admin/", true, DisplayName = "case and trailing slash")]
    [DataRow("/admin/.", false, DisplayName = "trailing dot segment refused")]
    [DataRow("/admin/..", false, DisplayName = "trailing dot-dot segment refused")]
    [DataRow("/x/../admin/", false, DisplayName = "dot-dot segment then trailing slash refused")]
    [DataRow("/admin%2F", false, DisplayName = "encoded trailing slash refused")]
    [DataRow("/admin\\", false, DisplayName = "trailing backslash refused")]
    [DataRow("/admin\0", false, DisplayName = "NUL refused")]
    public void PathTricks_CannotSlipPastAnExactDenyRule(string path, bool canonical)
    {
        // An exact Deny rule sees the path only after canonicalisation: '/admin/' is '/admin', never a path it misses.
        CentralPolicy policy = Policy(false,
            Rule("all", PolicyAction.Allow, "spiffe://example.org/*", "/*"),
            Rule("no-admin", PolicyAction.Deny, "spiffe://example.org/*", "/admin"));

        PolicyDecision decision = Evaluate(policy, Orders, path);

        Assert.IsFalse(decision.Allowed, path);
        Assert.AreEqual(canonical ? PolicyDecision.DeniedByRule : PolicyDecision.NonCanonicalPath, decision.Reason, path);
        Assert.IsTrue(Evaluate(policy, Orders, "/admins").Allowed, "the exact rule stops at its own path");
    }

    [TestMethod]
    public void EmptyPath_IsTheRoot_ForAnExactDenyRule()
    {
        CentralPolicy policy = Policy(false,
            Rule("all", PolicyAction.Allow, "spiffe://example.org/*", "/*"),
            Rule("no-root", PolicyAction.Deny, "spiffe://example.org/*", "/"));

        PolicyDecision decision = Evaluate(policy, Orders, string.Empty);

        Assert.AreEqual(PolicyDecision.DeniedByRule, decision.Reason);
        Assert.AreEqual("no-root", decision.Rule);
    }

    [TestMethod]
    public void DryRun_ReportsTheDecisionItWouldMake()
    {
        CentralPolicy policy = Policy(true, Rule("no-admin", PolicyAction.Deny, "*", "/admin/*"));

        PolicyDecision decision = Evaluate(policy, Orders, "/admin");

        Assert.IsTrue(decision.DryRun);
        Assert.IsFalse(decision.Allowed);
        Assert.AreEqual("no-admin", decision.Rule);
    }

    [TestMethod]
    public void DryRun_RefusesAmbiguousPathsAndUnknownCallers_Too()
    {
        CentralPolicy policy = Policy(true, Rule("all", PolicyAction.Allow, "*", "/*"));

        PolicyDecision nonCanonical = Evaluate(policy, Orders, "/x/../admin");
        PolicyDecision noCaller = Evaluate(policy, default, "/x");

        Assert.IsFalse(nonCanonical.Allowed);
        Assert.AreEqual(PolicyDecision.NonCanonicalPath, nonCanonical.Reason);
        Assert.IsTrue(nonCanonical.DryRun);
        Assert.IsFalse(noCaller.Allowed);
        Assert.AreEqual(PolicyDecision.NoCallerIdentity, noCaller.Reason);
        Assert.IsTrue(noCaller.DryRun);
    }

    [TestMethod]
    [DataRow(PolicyAction.Deny, DisplayName = "a Deny rule")]
    [DataRow(PolicyAction.Audit, DisplayName = "an Audit rule")]
    public void RuleThatIsNoAllowRule_MissingOnlyScopes_NamesNoScope(PolicyAction action)
    {
        // Only an Allow rule can tell a caller which scopes would let it in.
        CentralPolicy policy = Policy(false, Rule("scoped", action, "spiffe://example.org/orders", "/invoices/*", scope: "invoices.admin"));

        PolicyDecision decision = Evaluate(policy, Orders, "/invoices/1", user: User("invoices.read"));

        Assert.AreEqual(PolicyDecision.NoMatchingRule, decision.Reason);
        Assert.IsNull(decision.MissingScopes);
    }

    [TestMethod]
    public void SeveralMatchingRules_TheFirstDenyOrAllowIsNamed_AndEveryAuditIsReported()
    {
        CentralPolicy denies = Policy(false,
            Rule("deny-1", PolicyAction.Deny, "*", "/admin/*"),
            Rule("deny-2", PolicyAction.Deny, "*", "/admin/*"));
        CentralPolicy allows = Policy(false,
            Rule("allow-1", PolicyAction.Allow, "*", "/invoices/*"),
            Rule("allow-2", PolicyAction.Allow, "*", "/invoices/*"),
            Rule("audit-1", PolicyAction.Audit, "*", "/invoices/*"),
            Rule("audit-2", PolicyAction.Audit, "*", "/invoices/*"));

        Assert.AreEqual("deny-1", Evaluate(denies, Orders, "/admin/x").Rule);
        PolicyDecision allowed = Evaluate(allows, Orders, "/invoices/1");
        Assert.AreEqual("allow-1", allowed.Rule);
        Assert.AreSequenceEqual(new[] { "audit-1", "audit-2" }, allowed.AuditRules.ToArray());
    }

    [TestMethod]
    public void RuleWithoutAName_IsNamedByItsPosition()
    {
        CallerRuleOptions rule = Rule("x", PolicyAction.Allow, "*", "/x");
        rule.Name = null;

        Assert.AreEqual("rule-0", Evaluate(Policy(false, rule), Orders, "/x").Rule);
    }

    [TestMethod]
    public void ValidRule_AfterAnInvalidOne_StillCompiles()
    {
        var options = new SecureCommsAuthorizationOptions();
        options.Rules.Add(Rule("bad", PolicyAction.Allow, "spiffe://example.org/orders", "admin"));
        options.Rules.Add(Rule("good", PolicyAction.Allow, "*", "/x"));
        var errors = new List<string>();

        CentralPolicy policy = CentralPolicy.Compile(options, errors);

        Assert.HasCount(1, errors);
        Assert.AreEqual("good", Evaluate(policy, Orders, "/x").Rule, "each rule is judged by its own problems");
    }

    [TestMethod]
    public void InvalidRule_IsLeftOut_EvenWhenNoOneCollectsTheErrors()
    {
        // A quote is no scope token (RFC 6749 §3.3), though a token could carry one: the rule must not allow anything.
        var options = new SecureCommsAuthorizationOptions();
        options.Rules.Add(Rule("r", PolicyAction.Allow, "*", "/admin", scope: "invoices\"read"));

        CentralPolicy policy = CentralPolicy.Compile(options, null);

        Assert.IsFalse(Evaluate(policy, Orders, "/admin", user: User("invoices\"read")).Allowed);
    }

    [TestMethod]
    public void RuleWithUserClaims_RequiresAnEndUser_ThoughRequireUserIsNotSet()
    {
        CallerRuleOptions rule = Rule("gold-users", PolicyAction.Allow, "spiffe://example.org/orders", "/premium");
        rule.UserClaims["tier"] = "gold";

        PolicyDecision decision = Evaluate(Policy(false, rule), Orders, "/premium", user: User(null, ("tier", "gold")));

        Assert.IsFalse(decision.Allowed, "the workload's own claims are no end user");
        Assert.AreEqual(PolicyDecision.NoMatchingRule, decision.Reason);
    }

    [TestMethod]
    public void ScopeWithTheFirstPrintableCharacter_IsAScopeToken()
    {
        CentralPolicy policy = Policy(false, Rule("bang", PolicyAction.Allow, "*", "/x", scope: "invoices!read"));

        Assert.IsTrue(Evaluate(policy, Orders, "/x", user: User("invoices!read")).Allowed);
    }

    [TestMethod]
    public void AnExactCaller_DoesNotCoverTheWorkloadsBelowIt()
    {
        CentralPolicy policy = Policy(false, Rule("orders only", PolicyAction.Allow, "spiffe://example.org/orders", "/x"));

        Assert.IsTrue(Evaluate(policy, Orders, "/x").Allowed);
        PolicyDecision below = Evaluate(policy, SpiffeId.Parse("spiffe://example.org/orders/replica-1"), "/x");
        Assert.IsFalse(below.Allowed, "an exact caller is that one workload, not a prefix");
        Assert.AreEqual(PolicyDecision.NoMatchingRule, below.Reason);
    }

    [TestMethod]
    public void ScopeWithTheLastPrintableCharacter_IsAScopeToken()
    {
        CentralPolicy policy = Policy(false, Rule("tilde", PolicyAction.Allow, "*", "/x", scope: "invoices~read"));

        Assert.IsTrue(Evaluate(policy, Orders, "/x", user: User("invoices~read")).Allowed);
    }

    [TestMethod]
    public void IncompleteRules_AreEachReportedWithTheirKey()
    {
        var options = new SecureCommsAuthorizationOptions();
        var incomplete = new CallerRuleOptions { Action = (PolicyAction)42 };
        incomplete.Methods.Add(" ");
        options.Rules.Add(incomplete);
        var errors = new List<string>();

        CentralPolicy.Compile(options, errors);

        Assert.Contains("SecureComms:Authorization:Rules:0:Action must be Allow, Deny or Audit.", errors);
        Assert.IsTrue(errors.Exists(e => e.StartsWith("SecureComms:Authorization:Rules:0:Callers is empty", StringComparison.Ordinal)), string.Join("; ", errors));
        Assert.IsTrue(errors.Exists(e => e.StartsWith("SecureComms:Authorization:Rules:0:Paths is empty", StringComparison.Ordinal)), string.Join("; ", errors));
        Assert.Contains("SecureComms:Authorization:Rules:0:Methods:0 is empty.", errors);
        Assert.HasCount(4, errors, string.Join("; ", errors));
    }

    [TestMethod]
    [DataRow("spiffe://example.org", "names a trust domain, not a workload", DisplayName = "a trust domain alone")]
    public void InvalidCallerPattern_IsReportedWithItsKeyAndWhy(string caller, string why)
    {
        var options = new SecureCommsAuthorizationOptions();
        options.Rules.Add(Rule("r", PolicyAction.Allow, caller, "/x"));
        var errors = new List<string>();

        CentralPolicy.Compile(options, errors);

        Assert.HasCount(1, errors, string.Join("; ", errors));
        Assert.StartsWith($"SecureComms:Authorization:Rules:0:Callers:0 '{caller}'", errors[0]);
        Assert.Contains(why, errors[0]);
    }

    [TestMethod]
    public void ThousandRules_FindTheOneThatMatches()
    {
        var rules = new CallerRuleOptions[1000];
        for (int i = 0; i < rules.Length; i++)
        {
            rules[i] = Rule($"r{i}", PolicyAction.Allow, $"spiffe://example.org/service-{i}", $"/api/{i}/*");
        }

        CentralPolicy policy = Policy(false, rules);

        Assert.AreEqual("r500", Evaluate(policy, SpiffeId.Parse("spiffe://example.org/service-500"), "/api/500/x").Rule);
        Assert.IsFalse(Evaluate(policy, SpiffeId.Parse("spiffe://example.org/service-500"), "/api/501/x").Allowed);
    }

    [TestMethod]
    [DataRow("Callers:0", "spiffe://Example.org/x", DisplayName = "bad caller pattern")]
    [DataRow("Paths:0", "admin", DisplayName = "path without a slash")]
    [DataRow("Scopes", "invoices read", DisplayName = "scope with a space")]
    [DataRow("Scopes", "invoices\"read", DisplayName = "scope with a quote (would break the challenge)")]
    [DataRow("Scopes", "factures.lecture\u00e9", DisplayName = "scope outside ASCII (not a header value)")]
    public void InvalidRule_IsReportedWithItsKey(string key, string value)
    {
        var rule = new CallerRuleOptions();
        rule.Callers.Add(key.StartsWith("Callers", StringComparison.Ordinal) ? value : "*");
        rule.Paths.Add(key.StartsWith("Paths", StringComparison.Ordinal) ? value : "/x");
        if (key == "Scopes")
        {
            rule.Scopes.Add(value);
        }

        var options = new SecureCommsAuthorizationOptions();
        options.Rules.Add(rule);
        var errors = new List<string>();

        CentralPolicy.Compile(options, errors);

        Assert.HasCount(1, errors, string.Join("; ", errors));
        Assert.Contains($"SecureComms:Authorization:Rules:0:{key}", errors[0]);
    }
}
