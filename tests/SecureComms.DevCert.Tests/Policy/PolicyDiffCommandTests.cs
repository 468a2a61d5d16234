namespace SecureComms.DevCert.Tests;

[TestClass]
public sealed class PolicyDiffCommandTests
{
    private const string Invoices = """{ "Name": "orders-reads-invoices", "Callers": ["spiffe://example.org/orders"], "Methods": ["GET"], "Paths": ["/invoices"], "Scopes": ["invoices.read", "invoices.audit"] }""";
    private const string Reports = """{ "Name": "reports", "Callers": ["spiffe://example.org/reports/*"], "Methods": ["GET"], "Paths": ["/reports/*"] }""";
    private const string NoAnalyticsCharges = """{ "Name": "no-analytics-charges", "Action": "Deny", "Callers": ["spiffe://example.org/analytics"], "Paths": ["/charges/*"] }""";
    private const string TeamCharges = """{ "Name": "team-charges", "Callers": ["spiffe://example.org/*"], "Methods": ["POST"], "Paths": ["/charges"] }""";

    /// <summary>
    /// Subtle edits, each a one-word change in a rule, and the lines the diff prints for it (no other line): the
    /// requests it opens or closes, summarised to the rule's patterns (lines separated by '\n').
    /// </summary>
    [TestMethod]
    [DataRow("method added", """{ "Name": "orders-reads-invoices", "Callers": ["spiffe://example.org/orders"], "Methods": ["GET", "POST"], "Paths": ["/invoices"], "Scopes": ["invoices.read", "invoices.audit"] }""", Reports, NoAnalyticsCharges, TeamCharges,
        "+ opens  spiffe://example.org/orders POST /invoices when scopes invoices.audit invoices.read (rule orders-reads-invoices; was no rule allows it)")]
    [DataRow("method removed", """{ "Name": "orders-reads-invoices", "Callers": ["spiffe://example.org/orders"], "Methods": ["HEAD"], "Paths": ["/invoices"], "Scopes": ["invoices.read", "invoices.audit"] }""", Reports, NoAnalyticsCharges, TeamCharges,
        "- closes spiffe://example.org/orders GET /invoices when scopes invoices.audit invoices.read (no rule allows it; was rule orders-reads-invoices)\n+ opens  spiffe://example.org/orders HEAD /invoices when scopes invoices.audit invoices.read (rule orders-reads-invoices; was no rule allows it)")]
    [DataRow("path prefix widened", Invoices, """{ "Name": "reports", "Callers": ["spiffe://example.org/reports/*"], "Methods": ["GET"], "Paths": ["/*"] }""", NoAnalyticsCharges, TeamCharges,
        "+ opens  spiffe://example.org/reports/* GET /*, /charges-x, /charges/*, /invoices, /invoices-x, /invoices/any, /reports-x (rule reports; was no rule allows it)")]
    [DataRow("exact path made a prefix", Invoices, Reports, NoAnalyticsCharges, """{ "Name": "team-charges", "Callers": ["spiffe://example.org/*"], "Methods": ["POST"], "Paths": ["/charges/*"] }""",
        "+ opens  spiffe://example.org/orders, spiffe://example.org/reports/*, spiffe://example.org/unlisted POST /charges/any (rule team-charges; was no rule allows it)")]
    [DataRow("caller prefix widened", Invoices, """{ "Name": "reports", "Callers": ["spiffe://example.org/*"], "Methods": ["GET"], "Paths": ["/reports/*"] }""", NoAnalyticsCharges, TeamCharges,
        "+ opens  spiffe://example.org/analytics, spiffe://example.org/orders, spiffe://example.org/unlisted GET /reports/* (rule reports; was no rule allows it)")]
    [DataRow("scope dropped", """{ "Name": "orders-reads-invoices", "Callers": ["spiffe://example.org/orders"], "Methods": ["GET"], "Paths": ["/invoices"], "Scopes": ["invoices.read"] }""", Reports, NoAnalyticsCharges, TeamCharges,
        "+ opens  spiffe://example.org/orders GET /invoices when scopes invoices.read (rule orders-reads-invoices; was rule orders-reads-invoices needs scopes invoices.read invoices.audit)")]
    [DataRow("Deny removed", Invoices, Reports, """{ "Name": "no-analytics-charges", "Action": "Audit", "Callers": ["spiffe://example.org/analytics"], "Paths": ["/charges/*"] }""", TeamCharges,
        "+ opens  spiffe://example.org/analytics POST /charges (rule team-charges; was denied by rule no-analytics-charges)")]
    [DataRow("Deny deleted", Invoices, Reports, "", TeamCharges,
        "+ opens  spiffe://example.org/analytics POST /charges (rule team-charges; was denied by rule no-analytics-charges)")]
    [DataRow("user required", Invoices, Reports, NoAnalyticsCharges, """{ "Name": "team-charges", "Callers": ["spiffe://example.org/*"], "Methods": ["POST"], "Paths": ["/charges"], "RequireUser": true }""",
        "- closes spiffe://example.org/orders, spiffe://example.org/reports/*, spiffe://example.org/unlisted POST /charges when no user (no rule allows it; was rule team-charges)")]
    public void SubtleChange_IsReported_AsTheRequestsItOpensOrCloses(string change, string first, string second, string third, string fourth, string expected)
    {
        using var folder = new TemporaryFolder();
        string before = Write(folder, "before.json", Invoices, Reports, NoAnalyticsCharges, TeamCharges);
        string after = Write(folder, "after.json", first, second, third, fourth);

        DevCertRun run = DevCertRun.Of("policy", "diff", "--config", before, "--config", after);

        Assert.AreEqual(1, run.ExitCode, $"{change}\n{run}");
        CollectionAssert.AreEquivalent(expected.Split('\n'), run.OutputLines, $"{change}\n{run}");
    }

    [TestMethod]
    public void SamePolicy_ReordersAndRenames_NoDecisionChange_ExitsZero()
    {
        using var folder = new TemporaryFolder();
        string before = Write(folder, "before.json", Invoices, Reports, NoAnalyticsCharges, TeamCharges);
        string after = Write(folder, "after.json", TeamCharges.Replace("team-charges", "anyone-posts-charges", StringComparison.Ordinal), NoAnalyticsCharges, Reports, Invoices);

        DevCertRun run = DevCertRun.Of("policy", "diff", "--config", before, "--config", after);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.AreEqual(string.Empty, run.Output, run.ToString());
        Assert.Contains("No decision changes", run.Error);
    }

    [TestMethod]
    public void LayeredFiles_AreComparedAsTheServiceLayersThem()
    {
        using var folder = new TemporaryFolder();
        string baseFile = Write(folder, "appsettings.json", Invoices);
        string overlay = folder.File("appsettings.Production.json");
        File.WriteAllText(overlay, """{ "SecureComms": { "Authorization": { "Rules": { "0": { "Methods": { "1": "DELETE" } } } } } }""");

        DevCertRun run = DevCertRun.Of("policy", "diff", "--config", baseFile, "--config", $"{baseFile},{overlay}");

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        CollectionAssert.AreEqual(
            new[] { "+ opens  spiffe://example.org/orders DELETE /invoices when scopes invoices.audit invoices.read (rule orders-reads-invoices; was no rule allows it)" },
            run.OutputLines,
            run.ToString());
    }

    [TestMethod]
    public void DryRunTurnedOn_IsReported_AsOpeningEverything()
    {
        using var folder = new TemporaryFolder();
        string before = Write(folder, "before.json", Invoices);
        string after = folder.File("after.json");
        File.WriteAllText(after, $$"""{ "SecureComms": { "Authorization": { "DryRun": true, "Rules": [ {{Invoices}} ] } } }""");

        DevCertRun run = DevCertRun.Of("policy", "diff", "--config", before, "--config", after);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.StartsWith("+ opens  every request: DryRun false -> true", run.OutputLines[0], run.ToString());
    }

    [TestMethod]
    public void OneConfiguration_IsAUsageError()
    {
        using var folder = new TemporaryFolder();
        string before = Write(folder, "before.json", Invoices);

        DevCertRun run = DevCertRun.Of("policy", "diff", "--config", before);

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains("name the old configuration, then the new one", run.Error);
    }

    [TestMethod]
    public void PolicyTheServiceWouldRefuse_IsExitCodeTwo_WithTheKeyToFix()
    {
        using var folder = new TemporaryFolder();
        string before = Write(folder, "before.json", Invoices);
        string after = Write(folder, "after.json", """{ "Name": "bad", "Callers": ["spiffe://example.org/orders"], "Paths": ["invoices"] }""");

        DevCertRun run = DevCertRun.Of("policy", "diff", "--config", before, "--config", after);

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains("SecureComms:Authorization:Rules:0:Paths:0 'invoices'", run.Error);
        Assert.AreEqual(string.Empty, run.Output, run.ToString());
    }

    internal static string Write(TemporaryFolder folder, string name, params string[] rules)
    {
        string path = folder.File(name);
        File.WriteAllText(path, $$"""{ "SecureComms": { "Authorization": { "Rules": [ {{string.Join(",\n", rules.Where(r => r.Length > 0))}} ] } } }""");
        return path;
    }
}
