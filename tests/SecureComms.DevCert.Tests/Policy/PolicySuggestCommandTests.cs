using System.Security.Claims;

namespace SecureComms.DevCert.Tests;

[TestClass]
public sealed class PolicySuggestCommandTests
{
    /// <summary>
    /// A dry run's log in the default text format (header line, then the message) and in JSON lines: orders read two
    /// invoices (concrete paths; --routes names their template), paid one (a template from a 1401 event), and read its
    /// status (a concrete path no template matches); reports/daily read files (a catch-all template). Two requests were
    /// refused: analytics reading invoices, orders deleting an invoice.
    /// </summary>
    private static readonly string[] TextLog =
    [
        "warn: SecureComms.Authorization.Policy[1413]",
        "      SecureComms dry run: spiffe://example.org/orders GET /invoices/42 would be denied (NoMatchingRule, rule (none)); allowed because the policy is in dry-run mode",
        "warn: SecureComms.Authorization.Policy[1413]",
        "      SecureComms dry run: spiffe://example.org/orders GET /invoices/43 would be denied (NoMatchingRule, rule (none)); allowed because the policy is in dry-run mode",
        "info: SecureComms.Authorization[1401]",
        "      SecureComms allowed spiffe://example.org/orders (user alice) POST /invoices/{id}/payments: AllowedByRule, rule payments",
        "warn: SecureComms.Authorization.Policy[1413] SecureComms dry run: spiffe://example.org/orders GET /status would be denied (NoMatchingRule, rule (none)); allowed because the policy is in dry-run mode",
        "fail: SecureComms.Authorization[1400]",
        "      SecureComms denied spiffe://example.org/analytics (user (none)) GET /invoices/{id}: NoMatchingRule, rule (none) (403)",
        "info: Microsoft.Hosting.Lifetime[0]",
        "      Application started.",
    ];

    private static readonly string[] JsonLog =
    [
        """{"Timestamp":"2026-12-07T10:00:00Z","EventId":1413,"LogLevel":"Warning","Category":"SecureComms.Authorization.Policy","Message":"SecureComms dry run: …","State":{"Caller":"spiffe://example.org/reports/daily","Method":"GET","Path":"/files/2026/12/a.csv","Verdict":"denied","Reason":"NoMatchingRule","Rule":"(none)"}}""",
        """{"EventId":1401,"LogLevel":"Information","Category":"SecureComms.Authorization","State":{"Caller":"spiffe://example.org/reports/daily","User":"(none)","Method":"GET","Route":"/files/{**rest}","Reason":"AllowedByRule","Rule":"files"}}""",
        """{"EventId":1400,"LogLevel":"Warning","Category":"SecureComms.Authorization","State":{"Caller":"spiffe://example.org/orders","User":"(none)","Method":"DELETE","Route":"/invoices/{id}","Reason":"NoMatchingRule","Rule":"(none)","StatusCode":403}}""",
    ];

    [TestMethod]
    public void SuggestedPolicy_AllowsEveryServedCall_AndNoneOfTheRefusedOnes()
    {
        using var folder = new TemporaryFolder();
        (string text, string json) = WriteLogs(folder);

        DevCertRun run = DevCertRun.Of("policy", "suggest", "--audit", text, json, "--routes", "/invoices/{id}", "--service-id", "spiffe://example.org/billing");

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        CentralPolicy policy = Compile(folder, run.Output);
        foreach ((string caller, string method, string path) in new[]
        {
            ("spiffe://example.org/orders", "GET", "/invoices/42"),
            ("spiffe://example.org/orders", "GET", "/invoices/43"),
            ("spiffe://example.org/orders", "GET", "/invoices/44"), // the template's parameter, not the paths seen
            ("spiffe://example.org/orders", "POST", "/invoices/7/payments"),
            ("spiffe://example.org/orders", "GET", "/status"),
            ("spiffe://example.org/reports/daily", "GET", "/files/2026/12/a.csv"),
            ("spiffe://example.org/reports/daily", "GET", "/files/other.csv"),
        })
        {
            Assert.IsTrue(Decide(policy, caller, method, path).Allowed, $"{caller} {method} {path} was served\n{run}");
        }

        foreach ((string caller, string method, string path) in new[]
        {
            ("spiffe://example.org/analytics", "GET", "/invoices/42"), // refused: another caller
            ("spiffe://example.org/orders", "DELETE", "/invoices/42"), // refused: another method
            ("spiffe://example.org/orders", "POST", "/invoices/42"), // POST only on payments
            ("spiffe://example.org/orders", "GET", "/status/detail"), // a concrete path stays exact
            ("spiffe://example.org/orders", "GET", "/files/a.csv"), // another caller's path
            ("spiffe://example.org/reports/weekly", "GET", "/files/a.csv"), // a sibling of the caller seen
            ("spiffe://example.org/orders", "GET", "/invoices"), // /invoices/{id} needs its one segment
            ("spiffe://example.org/orders", "GET", "/invoices/42/lines"), // and no more than one
            ("spiffe://example.org/orders", "POST", "/invoices/7/payments/1"),
        })
        {
            Assert.IsFalse(Decide(policy, caller, method, path).Allowed, $"{caller} {method} {path} was not served\n{run}");
        }

        Assert.Contains("refused, not allowed by the suggestion: spiffe://example.org/analytics GET /invoices/{id} (NoMatchingRule, rule (none)) x1", run.Error);
        Assert.Contains("refused, not allowed by the suggestion: spiffe://example.org/orders DELETE /invoices/{id} (NoMatchingRule, rule (none)) x1", run.Error);
    }

    /// <summary>One rule per caller and set of methods, each after a comment with the calls behind it.</summary>
    [TestMethod]
    public void Rules_GroupEachCallersPathsByMethods_WithTheCallsBehindThem()
    {
        using var folder = new TemporaryFolder();
        (string text, string json) = WriteLogs(folder);

        DevCertRun run = DevCertRun.Of("policy", "suggest", "--audit", text, json, "--routes", "/invoices/{id}");

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        string expected = """
            // Suggested by securecomms-dev policy suggest from 2 log file(s): 6 served call(s). Review before use.
            // Scopes: not in these logs (the decision events do not carry them); add Scopes where the calls need them.
            {
              "SecureComms": {
                "Authorization": {
                  "Rules": [
                    // 3 call(s): GET /invoices/{id} x2, GET /status x1
                    {
                      "Name": "orders-get",
                      "Callers": [ "spiffe://example.org/orders" ],
                      "Methods": [ "GET" ],
                      "Paths": [ "/invoices/{id}", "/status" ]
                    },
                    // 1 call(s): POST /invoices/{id}/payments x1
                    {
                      "Name": "orders-post",
                      "Callers": [ "spiffe://example.org/orders" ],
                      "Methods": [ "POST" ],
                      "Paths": [ "/invoices/{id}/payments" ]
                    },
                    // 2 call(s): GET /files/{**rest} x2
                    {
                      "Name": "daily-get",
                      "Callers": [ "spiffe://example.org/reports/daily" ],
                      "Methods": [ "GET" ],
                      "Paths": [ "/files/*" ]
                    }
                  ]
                }
              }
            }

            """;
        Assert.AreEqual(expected.ReplaceLineEndings("\n"), run.Output, run.ToString());
        Assert.Contains("3 rule(s) for 6 served call(s) of 2 caller(s).", run.Error);
    }

    [TestMethod]
    public void ConcretePaths_WithoutTemplates_StayExact()
    {
        using var folder = new TemporaryFolder();
        string dryRunOnly = folder.File("dry-run.log");
        File.WriteAllLines(dryRunOnly, [.. TextLog[..4], TextLog[6]]); // no route template anywhere

        DevCertRun run = DevCertRun.Of("policy", "suggest", "--audit", dryRunOnly);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("\"Paths\": [ \"/invoices/42\", \"/invoices/43\", \"/status\" ]", run.Output);
        CentralPolicy policy = Compile(folder, run.Output);
        Assert.IsFalse(Decide(policy, "spiffe://example.org/orders", "GET", "/invoices/44").Allowed, run.ToString());
    }

    /// <summary>The decision events carry no scopes; a log whose events do gets the scopes every call behind a rule had.</summary>
    [TestMethod]
    public void ScopesInTheEvents_BecomeTheScopesEveryCallCarried()
    {
        using var folder = new TemporaryFolder();
        string log = folder.File("scoped.log");
        File.WriteAllLines(log,
        [
            """{"EventId":1401,"State":{"Caller":"spiffe://example.org/orders","Method":"GET","Route":"/invoices/{id}","Reason":"AllowedByRule","Rule":"r","Scopes":"invoices.read invoices.audit"}}""",
            """{"EventId":1401,"State":{"Caller":"spiffe://example.org/orders","Method":"GET","Route":"/invoices","Reason":"AllowedByRule","Rule":"r","Scopes":"invoices.read"}}""",
        ]);

        DevCertRun run = DevCertRun.Of("policy", "suggest", "--audit", log);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("// Scopes: the scopes every call behind a rule carried.", run.Output);
        Assert.Contains("\"Scopes\": [ \"invoices.read\" ]", run.Output);
    }

    [TestMethod]
    public void LogWithoutServedCalls_Fails()
    {
        using var folder = new TemporaryFolder();
        string log = folder.File("refused.log");
        File.WriteAllLines(log, [TextLog[7], TextLog[8]]);

        DevCertRun run = DevCertRun.Of("policy", "suggest", "--audit", log);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("no served call", run.Error);
        Assert.AreEqual(string.Empty, run.Output, run.ToString());
    }

    [TestMethod]
    public void MissingLog_Fails()
    {
        using var folder = new TemporaryFolder();

        DevCertRun run = DevCertRun.Of("policy", "suggest", "--audit", folder.File("missing.log"));

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("cannot read", run.Error);
    }

    private static (string Text, string Json) WriteLogs(TemporaryFolder folder)
    {
        string text = folder.File("billing.log");
        string json = folder.File("billing.json.log");
        File.WriteAllLines(text, TextLog);
        File.WriteAllLines(json, JsonLog);
        return (text, json);
    }

    /// <summary>The suggestion as the service would load it: a JSON file with comments, compiled by its own code.</summary>
    private static CentralPolicy Compile(TemporaryFolder folder, string suggestion)
    {
        string path = folder.File("suggested.json");
        File.WriteAllText(path, suggestion);
        var problems = new List<string>();
        ServicePolicy? policy = ServicePolicy.TryLoad(path, problems);
        Assert.IsNotNull(policy, string.Join('\n', problems));
        return policy.Policy;
    }

    private static PolicyDecision Decide(CentralPolicy policy, string caller, string method, string path) =>
        policy.Evaluate(new PolicyRequest(SpiffeId.Parse(caller), method, path, new ClaimsPrincipal(new ClaimsIdentity("SecureComms"))));
}
