namespace SecureComms.DevCert.Tests;

[TestClass]
public sealed class PolicyTestCommandTests
{
    /// <summary>
    /// Requests a character apart that the policy decides differently: a trailing slash or an extra letter in the path,
    /// an encoded slash, GET or POST, invoices.read or invoices.write, a claim's value, the end user's role.
    /// </summary>
    private const string SubtleTable = """
        // Each pair differs in one detail.
        {
          "cases": [
            { "name": "reads /invoices (the prefix's own root)", "caller": "spiffe://example.org/orders", "path": "/invoices", "scopes": [ "invoices.read" ], "expect": "allow", "rule": "orders-reads-invoices", "reason": "AllowedByRule" },
            { "name": "reads /invoices/ (trailing slash dropped)", "caller": "spiffe://example.org/orders", "path": "/invoices/", "scopes": [ "invoices.read" ], "expect": "allow", "rule": "orders-reads-invoices" },
            { "name": "not /invoicesX (a prefix ends on a segment)", "caller": "spiffe://example.org/orders", "path": "/invoicesX", "scopes": [ "invoices.read" ], "expect": "deny", "rule": null, "reason": "NoMatchingRule" },
            { "name": "reads /INVOICES/42 (paths match without case)", "caller": "spiffe://example.org/orders", "method": "GET", "path": "/INVOICES/42", "scopes": [ "invoices.read" ], "expect": "allow" },
            { "name": "not /invoices%2F42 (an encoded slash is ambiguous)", "caller": "spiffe://example.org/orders", "path": "/invoices%2F42", "scopes": [ "invoices.read" ], "expect": "deny", "reason": "NonCanonicalPath" },
            { "name": "not /invoices/../admin (a dot segment is ambiguous)", "caller": "spiffe://example.org/orders", "path": "/invoices/../admin", "scopes": [ "invoices.read" ], "expect": "deny", "reason": "NonCanonicalPath" },
            { "name": "POST /invoices with invoices.write", "caller": "spiffe://example.org/orders", "method": "POST", "path": "/invoices", "scopes": [ "invoices.write" ], "expect": "allow", "rule": "orders-writes-invoices" },
            { "name": "POST /invoices with invoices.read only", "caller": "spiffe://example.org/orders", "method": "POST", "path": "/invoices", "scopes": [ "invoices.read" ], "expect": "deny", "rule": "orders-writes-invoices", "reason": "InsufficientScope" },
            { "name": "POST /invoices/42 (the write rule is exact)", "caller": "spiffe://example.org/orders", "method": "POST", "path": "/invoices/42", "scopes": [ "invoices.read", "invoices.write" ], "expect": "deny", "reason": "NoMatchingRule" },
            { "name": "GET /charges (only POST is open)", "caller": "spiffe://example.org/orders", "method": "GET", "path": "/charges", "expect": "deny" },
            { "name": "POST /charges", "caller": "spiffe://example.org/orders", "method": "POST", "path": "/charges", "expect": "allow", "rule": "orders-creates-charges" },
            { "name": "analytics may not POST /charges", "caller": "spiffe://example.org/analytics", "method": "POST", "path": "/charges", "expect": "deny" },
            { "name": "team reads reports for acme", "caller": "spiffe://example.org/team/analytics", "path": "/reports/q1", "claims": { "tenant": [ "other", "acme" ] }, "expect": "allow" },
            { "name": "team reads no reports for another tenant", "caller": "spiffe://example.org/team/analytics", "path": "/reports/q1", "claims": { "tenant": "other" }, "expect": "deny" },
            { "name": "teamx is not below team/", "caller": "spiffe://example.org/teamx", "path": "/reports/q1", "claims": { "tenant": "acme" }, "expect": "deny" },
            { "name": "a clerk refunds through the gateway", "caller": "spiffe://example.org/gateway", "method": "POST", "path": "/refunds/9", "user": "alice", "userClaims": { "role": "clerk" }, "expect": "allow", "rule": "clerks-refund" },
            { "name": "a buyer does not", "caller": "spiffe://example.org/gateway", "method": "POST", "path": "/refunds/9", "user": "bob", "userClaims": { "role": "buyer" }, "expect": "deny" },
            { "name": "nor the gateway without a user", "caller": "spiffe://example.org/gateway", "method": "POST", "path": "/refunds/9", "expect": "deny" },
            { "name": "admin is denied even to orders", "caller": "spiffe://example.org/orders", "path": "/Admin/users", "expect": "deny", "rule": "never-admin", "reason": "DeniedByRule" },
            { "name": "a one-segment wildcard", "caller": "spiffe://example.org/web", "path": "/tenants/acme/status", "expect": "allow", "rule": "anyone-reads-status" },
            { "name": "is one segment only", "caller": "spiffe://example.org/web", "path": "/tenants/acme/eu/status", "expect": "deny" },
            { "name": "another trust domain", "caller": "spiffe://other.org/web", "path": "/status", "expect": "deny" }
          ]
        }
        """;

    [TestMethod]
    public void TableOfSubtleDifferences_Passes()
    {
        using var files = new BillingPolicyFiles();
        string table = files.Write("policy-tests.json", SubtleTable);

        DevCertRun run = DevCertRun.Of("policy", "test", "--config", files.Config, table);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.HasCount(23, run.OutputLines, run.ToString());
        Assert.AreEqual("PASS reads /invoices (the prefix's own root)", run.OutputLines[0], run.ToString());
        Assert.StartsWith("22 passed, 0 failed", run.OutputLines[^1], run.ToString());
    }

    [TestMethod]
    public void ChangedPolicy_FailsTheCasesItChanges_WithADiffAndTheExplanation()
    {
        // The edit a review should catch: the read rule written without its '/*', and POST added to it.
        string edited = BillingPolicyFiles.Rules.Replace(
            "\"Methods\": [ \"GET\" ], \"Paths\": [ \"/invoices/*\" ]",
            "\"Methods\": [ \"GET\", \"POST\" ], \"Paths\": [ \"/invoices\" ]",
            StringComparison.Ordinal);
        Assert.AreNotEqual(BillingPolicyFiles.Rules, edited);
        using var files = new BillingPolicyFiles(rules: edited);
        string table = files.Write("policy-tests.json", SubtleTable);

        DevCertRun run = DevCertRun.Of("policy", "test", "--config", files.Config, table);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        string[] lines = run.OutputLines;
        int fail = Array.IndexOf(lines, "FAIL reads /INVOICES/42 (paths match without case)");
        Assert.IsGreaterThanOrEqualTo(0, fail, run.ToString());
        Assert.AreEqual("decision: expected allow, got deny", lines[fail + 1], run.ToString());
        Assert.AreEqual("explain:", lines[fail + 2], run.ToString());
        Assert.AreEqual("decision: denied (NoMatchingRule)", lines[fail + 3], run.ToString());
        Assert.Contains("- path /INVOICES/42 does not match /invoices", run.Output, run.ToString());
        int opened = Array.IndexOf(lines, "FAIL POST /invoices with invoices.read only");
        Assert.IsGreaterThanOrEqualTo(0, opened, run.ToString());
        Assert.AreEqual("decision: expected deny, got allow", lines[opened + 1], run.ToString());
        Assert.AreEqual("rule:     expected orders-writes-invoices, got orders-reads-invoices", lines[opened + 2], run.ToString());
        Assert.AreEqual("reason:   expected InsufficientScope, got AllowedByRule", lines[opened + 3], run.ToString());
        Assert.StartsWith("20 passed, 2 failed", lines[^1], run.ToString());
    }

    [TestMethod]
    public void DryRun_IsNoted_AndTheCasesCheckTheDecisions()
    {
        using var files = new BillingPolicyFiles(dryRun: true);
        string table = files.Write("policy-tests.json", SubtleTable);

        DevCertRun run = DevCertRun.Of("policy", "test", "--config", files.Config, table);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("DryRun is true", run.Error, run.ToString());
    }

    [TestMethod]
    [DataRow("{ \"cases\": [ ] }", "has no cases", DisplayName = "no cases")]
    [DataRow("[ ]", "is not a table", DisplayName = "not an object")]
    [DataRow("{ \"cases\": [ { \"name\": \"x\", \"caller\": \"spiffe://example.org/orders\", \"path\": \"/x\", \"expected\": \"allow\" } ] }", "cases[0].expected is not a case property", DisplayName = "a misspelt expectation")]
    [DataRow("{ \"cases\": [ { \"name\": \"x\", \"caller\": \"spiffe://example.org/orders\", \"path\": \"/x\", \"expect\": \"permit\" } ] }", "cases[0] 'x'.expect 'permit' is not allow or deny", DisplayName = "an unknown decision")]
    [DataRow("{ \"cases\": [ { \"name\": \"x\", \"caller\": \"orders\", \"path\": \"/x\", \"expect\": \"deny\" } ] }", "cases[0] 'x'.caller 'orders'", DisplayName = "a caller that is no SPIFFE ID")]
    [DataRow("{ \"cases\": [ { \"name\": \"x\", \"caller\": \"spiffe://example.org/orders\", \"expect\": \"deny\", \"claims\": { \"n\": 1 } } ] }", "cases[0] 'x'.path is missing", DisplayName = "no path")]
    [DataRow("{ \"cases\": [ { \"name\": \"x\", ", "cannot read", DisplayName = "not JSON")]
    public void UnusableTable_ExitsTwo_SayingWhy(string json, string message)
    {
        using var files = new BillingPolicyFiles();
        string table = files.Write("policy-tests.json", json);

        DevCertRun run = DevCertRun.Of("policy", "test", "--config", files.Config, table);

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains(message, run.Error, run.ToString());
    }

    [TestMethod]
    public void MissingTable_ExitsTwo()
    {
        using var files = new BillingPolicyFiles();

        DevCertRun run = DevCertRun.Of("policy", "test", "--config", files.Config, files.PathOf("nothing.json"));

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains("cannot read", run.Error, run.ToString());
    }

    [TestMethod]
    public void NoTableArgument_IsAUsageError()
    {
        using var files = new BillingPolicyFiles();

        DevCertRun run = DevCertRun.Of("policy", "test", "--config", files.Config);

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains("policy test --help", run.Error, run.ToString());
    }
}
