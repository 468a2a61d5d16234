using System.Text.Json;

namespace SecureComms.DevCert.Tests;

[TestClass]
public sealed class PolicyExplainCommandTests
{
    [TestMethod]
    public void AllowedRequest_NamesTheRule_AndExitsZero()
    {
        using var files = new BillingPolicyFiles();

        DevCertRun run = Explain(files, "--caller", "spiffe://example.org/orders", "--method", "POST", "--path", "/charges");

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        CollectionAssert.AreEqual(
            new[]
            {
                "decision: allowed (AllowedByRule)",
                "request:  spiffe://example.org/orders POST /charges",
                "rule:     orders-creates-charges (SecureComms:Authorization:Rules:2, Allow)",
                "audit:    watch-charges",
            },
            run.OutputLines,
            run.ToString());
    }

    [TestMethod]
    public void DeniedRequest_WithoutAMatchingRule_ListsTheNearestRules_WithWhatDidNotMatch()
    {
        using var files = new BillingPolicyFiles();

        DevCertRun run = Explain(files, "--caller", "spiffe://example.org/orders", "--method", "GET", "--path", "/invoicesX", "--scope", "invoices.read");

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        CollectionAssert.AreEqual(
            new[]
            {
                "decision: denied (NoMatchingRule)",
                "request:  spiffe://example.org/orders GET /invoicesX scopes [invoices.read]",
                "rule:     none matched (default deny)",
                "nearest rules:",
                "1. orders-reads-invoices (SecureComms:Authorization:Rules:0, Allow), 5 of 6 match",
                "- path /invoicesX does not match /invoices/*",
                "2. anyone-reads-status (SecureComms:Authorization:Rules:5, Allow), 5 of 6 match",
                "- path /invoicesX matches none of /status, /tenants/*/status",
                "3. orders-creates-charges (SecureComms:Authorization:Rules:2, Allow), 4 of 6 match",
                "- method GET not in [POST]",
                "- path /invoicesX does not match /charges",
            },
            run.OutputLines,
            run.ToString());
    }

    [TestMethod]
    public void AnotherCaller_IsShownAsTheMiss()
    {
        using var files = new BillingPolicyFiles();

        DevCertRun run = Explain(files, "--caller", "spiffe://example.org/analytics", "--method", "POST", "--path", "/charges");

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("1. orders-creates-charges (SecureComms:Authorization:Rules:2, Allow), 5 of 6 match", run.Output, run.ToString());
        Assert.Contains("- caller spiffe://example.org/analytics not matched by spiffe://example.org/orders", run.Output, run.ToString());
        Assert.Contains("audit:    watch-charges", run.Output, run.ToString());
    }

    [TestMethod]
    public void MissingScope_IsInsufficientScope_NamingTheRuleThatWouldAllow()
    {
        using var files = new BillingPolicyFiles();

        DevCertRun run = Explain(files, "--caller", "spiffe://example.org/orders", "--method", "POST", "--path", "/invoices", "--scope", "invoices.read");

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        CollectionAssert.AreEqual(
            new[]
            {
                "decision: denied (InsufficientScope)",
                "request:  spiffe://example.org/orders POST /invoices scopes [invoices.read]",
                "rule:     orders-writes-invoices (SecureComms:Authorization:Rules:1, Allow)",
                "would allow with the scopes invoices.write:",
                "- missing scope invoices.write",
            },
            run.OutputLines,
            run.ToString());
    }

    [TestMethod]
    [DataRow("/charges/../admin", DisplayName = "dot-dot segment")]
    [DataRow("/charges%2Fadmin", DisplayName = "encoded slash")]
    [DataRow("/charges\\admin", DisplayName = "backslash")]
    public void AmbiguousPath_IsNonCanonicalPath_AsInTheService(string path)
    {
        using var files = new BillingPolicyFiles();

        DevCertRun run = Explain(files, "--caller", "spiffe://example.org/orders", "--method", "POST", "--path", path);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.AreEqual("decision: denied (NonCanonicalPath)", run.OutputLines[0], run.ToString());
        Assert.Contains("is not canonical", run.Output, run.ToString());
        Assert.DoesNotContain("nearest rules", run.Output, run.ToString());
    }

    [TestMethod]
    public void CanonicalisedPath_IsShownAsMatched()
    {
        using var files = new BillingPolicyFiles();

        DevCertRun run = Explain(files, "--caller", "spiffe://example.org/orders", "--path", "//invoices//42/", "--scope", "invoices.read");

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("path:     matched as /invoices/42", run.Output, run.ToString());
    }

    [TestMethod]
    public void DenyRule_Decides_AndTheAllowRulesItOverrides_AreNamed()
    {
        string rules = BillingPolicyFiles.Rules.Replace("\"Paths\": [ \"/status\", \"/tenants/*/status\" ]", "\"Paths\": [ \"/status\", \"/tenants/*/status\", \"/admin/*\" ]", StringComparison.Ordinal);
        Assert.AreNotEqual(BillingPolicyFiles.Rules, rules);
        using var files = new BillingPolicyFiles(rules: rules);

        DevCertRun run = Explain(files, "--caller", "spiffe://example.org/orders", "--path", "/ADMIN/users");
        DevCertRun json = Explain(files, "--caller", "spiffe://example.org/orders", "--path", "/ADMIN/users", "--format", "json");

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        CollectionAssert.AreEqual(
            new[]
            {
                "decision: denied (DeniedByRule)",
                "request:  spiffe://example.org/orders GET /ADMIN/users",
                "rule:     never-admin (SecureComms:Authorization:Rules:6, Deny)",
                "wins over the Allow rule(s) that match too: anyone-reads-status",
            },
            run.OutputLines,
            run.ToString());
        using var document = JsonDocument.Parse(json.Output);
        Assert.AreEqual("anyone-reads-status", document.RootElement.GetProperty("overriddenAllowRules")[0].GetString(), json.ToString());
    }

    [TestMethod]
    public void ClaimsAndEndUser_DecideAsOnTheServicePrincipal()
    {
        using var files = new BillingPolicyFiles();

        DevCertRun team = Explain(files, "--caller", "spiffe://example.org/team/analytics", "--path", "/reports/q1", "--claim", "tenant=other", "--claim", "tenant=acme");
        DevCertRun otherTenant = Explain(files, "--caller", "spiffe://example.org/team/analytics", "--path", "/reports/q1", "--claim", "tenant=other");
        DevCertRun clerk = Explain(files, "--caller", "spiffe://example.org/gateway", "--method", "POST", "--path", "/refunds/9", "--user", "alice", "--user-claim", "role=clerk");
        DevCertRun buyer = Explain(files, "--caller", "spiffe://example.org/gateway", "--method", "POST", "--path", "/refunds/9", "--user-claim", "role=buyer");
        DevCertRun noUser = Explain(files, "--caller", "spiffe://example.org/gateway", "--method", "POST", "--path", "/refunds/9");

        Assert.AreEqual(0, team.ExitCode, team.ToString());
        Assert.AreEqual(1, otherTenant.ExitCode, otherTenant.ToString());
        Assert.Contains("- missing claim tenant=acme (has tenant=other)", otherTenant.Output, otherTenant.ToString());
        Assert.AreEqual(0, clerk.ExitCode, clerk.ToString());
        Assert.AreEqual(1, buyer.ExitCode, buyer.ToString());
        Assert.Contains("- missing user claim role=clerk (has role=buyer)", buyer.Output, buyer.ToString());
        Assert.Contains("- no end user (the rule requires a verified user context)", noUser.Output, noUser.ToString());
    }

    [TestMethod]
    public void DryRun_IsSaid_AndTheExitCodeFollowsTheDecision()
    {
        using var files = new BillingPolicyFiles(dryRun: true);

        DevCertRun run = Explain(files, "--caller", "spiffe://example.org/analytics", "--path", "/admin/users");

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("dry run:  the policy is in dry-run mode", run.Output, run.ToString());
    }

    [TestMethod]
    public void JsonFormat_CarriesTheDecision_AndTheCandidates()
    {
        using var files = new BillingPolicyFiles();

        DevCertRun run = Explain(files, "--caller", "spiffe://example.org/analytics", "--method", "POST", "--path", "/charges", "--format", "json");

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        JsonElement root = json.RootElement;
        Assert.IsFalse(root.GetProperty("allowed").GetBoolean());
        Assert.AreEqual("NoMatchingRule", root.GetProperty("reason").GetString());
        Assert.AreEqual(JsonValueKind.Null, root.GetProperty("rule").ValueKind);
        Assert.AreEqual("/charges", root.GetProperty("canonicalPath").GetString());
        Assert.AreEqual("watch-charges", root.GetProperty("auditRules")[0].GetString());
        JsonElement first = root.GetProperty("candidates")[0];
        Assert.AreEqual("orders-creates-charges", first.GetProperty("rule").GetString());
        Assert.AreEqual(2, first.GetProperty("ruleIndex").GetInt32());
        Assert.AreEqual(5, first.GetProperty("matchedDimensions").GetInt32());
        Assert.AreEqual("caller", first.GetProperty("misses")[0].GetProperty("dimension").GetString());
    }

    [TestMethod]
    [DataRow(new[] { "--path", "/charges" }, "--caller", DisplayName = "no caller")]
    [DataRow(new[] { "--caller", "spiffe://example.org", "--path", "/charges" }, "names a trust domain", DisplayName = "a trust domain as caller")]
    [DataRow(new[] { "--caller", "https://example.org/orders", "--path", "/charges" }, "--caller 'https://example.org/orders'", DisplayName = "not a SPIFFE ID")]
    [DataRow(new[] { "--caller", "spiffe://example.org/orders", "--path", "charges" }, "must start with '/'", DisplayName = "a relative path")]
    [DataRow(new[] { "--caller", "spiffe://example.org/orders", "--path", "/charges", "--claim", "tenant" }, "--claim 'tenant' is not type=value", DisplayName = "a claim without value")]
    [DataRow(new[] { "--caller", "spiffe://example.org/orders", "--path", "/charges", "--format", "xml" }, "--format 'xml'", DisplayName = "an unknown format")]
    public void UsageError_ExitsTwo(string[] args, string message)
    {
        using var files = new BillingPolicyFiles();

        DevCertRun run = Explain(files, args);

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains(message, run.Error, run.ToString());
        Assert.AreEqual(string.Empty, run.Output, run.ToString());
    }

    [TestMethod]
    public void PolicyTheServiceWouldRefuse_ExitsTwo_NamingTheKey()
    {
        using var files = new BillingPolicyFiles(rules: """[ { "Name": "bad", "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/invoices*" ] } ]""");

        DevCertRun run = Explain(files, "--caller", "spiffe://example.org/orders", "--path", "/invoices");

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains("SecureComms:Authorization:Rules:0:Paths:0 '/invoices*'", run.Error, run.ToString());
    }

    [TestMethod]
    public void MissingConfigurationFile_ExitsTwo()
    {
        DevCertRun run = DevCertRun.Of("policy", "explain", "--config", "/nonexistent/appsettings.json", "--caller", "spiffe://example.org/orders", "--path", "/x");

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains("'/nonexistent/appsettings.json' does not exist", run.Error, run.ToString());
    }

    [TestMethod]
    public void PolicyHelp_ListsItsCommands()
    {
        DevCertRun group = DevCertRun.Of("policy", "--help");
        DevCertRun explain = DevCertRun.Of("policy", "explain", "--help");

        Assert.AreEqual(0, group.ExitCode, group.ToString());
        Assert.Contains("explain", group.Output, group.ToString());
        Assert.Contains("test <tables.json>", group.Output, group.ToString());
        Assert.AreEqual(0, explain.ExitCode, explain.ToString());
        Assert.Contains("securecomms-dev policy explain [options]", explain.Output, explain.ToString());
        Assert.Contains("--user-claim", explain.Output, explain.ToString());
    }

    private static DevCertRun Explain(BillingPolicyFiles files, params string[] args) =>
        DevCertRun.Of(["policy", "explain", "--config", files.Config, .. args]);
}
