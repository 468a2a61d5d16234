using System.CommandLine;

namespace SecureComms.DevCert;

/// <summary><c>policy test</c>: runs a table of requests and the decisions expected of a service's central policy.</summary>
internal static class PolicyTestCommand
{
    private const string Description = """
        Policy unit tests: loads the service's configuration and compiles its central policy as 'policy explain' does,
        then decides every case of the table and prints one line per case (PASS or FAIL), with, for a failure, the
        expected and actual decision, rule and reason, and the explanation of that request. The table:
          { "cases": [ { "name": "orders reads invoices", "caller": "spiffe://example.org/orders",
                         "method": "GET", "path": "/invoices/42", "scopes": [ "invoices.read" ],
                         "claims": { "tenant": "acme" }, "user": "alice", "userClaims": { "role": "clerk" },
                         "expect": "allow", "rule": "orders-reads-invoices", "reason": "AllowedByRule" } ] }
        name, caller, path and expect (allow or deny) are required; method defaults to GET; rule (null: no rule
        decided) and reason are checked when given. The decision is the policy's, also in dry run.
        Exit code: 0 every case passes, 1 a case fails, 2 usage error, unreadable table or configuration, or a policy
        the service would refuse at start-up.
        """;

    /// <summary>The <c>policy test</c> command.</summary>
    public static Command Create(CommandContext context)
    {
        Option<string> config = CommandLineOptions.Value("--config", "files", "the service's configuration files, comma-separated, in the order the service loads them (appsettings.json,securecomms.policy.json)", required: true);
        var table = new Argument<string>("tables.json") { Description = "the table of cases (JSON)" };
        var command = new Command("test", Description) { config, table };
        command.SetAction(parsed => Run(context, parsed.GetRequiredValue(config), parsed.GetRequiredValue(table)));
        return command;
    }

    private static int Run(CommandContext context, string config, string tablePath)
    {
        var problems = new List<string>();
        if (ServicePolicy.TryLoad(config, problems) is not { } service)
        {
            return PolicyExplainCommand.WriteProblems(context, config, problems);
        }

        if (PolicyTestTable.TryRead(tablePath, problems) is not { } cases)
        {
            context.Error.WriteLine($"error: the table '{tablePath}' cannot be used:");
            foreach (string problem in problems)
            {
                context.Error.WriteLine($"  {problem}");
            }

            return ExitCodes.Usage;
        }

        if (service.Policy.DryRun)
        {
            context.Error.WriteLine("note: SecureComms:Authorization:DryRun is true: the cases check the policy's decisions, which the service logs and does not enforce.");
        }

        int failed = 0;
        foreach (PolicyTestCase testCase in cases)
        {
            var explanation = PolicyExplanation.Explain(service.Policy, testCase.Query);
            List<string> differences = Compare(testCase, explanation.Decision);
            if (differences.Count == 0)
            {
                context.Output.WriteLine($"PASS {testCase.Name}");
                continue;
            }

            failed++;
            context.Output.WriteLine($"FAIL {testCase.Name}");
            foreach (string difference in differences)
            {
                context.Output.WriteLine($"     {difference}");
            }

            using var explained = new StringWriter();
            explanation.WriteText(explained);
            foreach (string line in explained.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries))
            {
                context.Output.WriteLine($"       {line}");
            }
        }

        context.Output.WriteLine(failed == 0
            ? $"{cases.Count} passed, 0 failed ({tablePath} against {config})"
            : $"{cases.Count - failed} passed, {failed} failed ({tablePath} against {config})");
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static List<string> Compare(PolicyTestCase testCase, PolicyDecision decision)
    {
        var differences = new List<string>();
        string expected = testCase.ExpectAllowed ? "allow" : "deny";
        string actual = decision.Allowed ? "allow" : "deny";
        if (expected != actual)
        {
            differences.Add($"decision: expected {expected}, got {actual}");
        }

        if (testCase.ExpectsRule && !string.Equals(testCase.Rule, decision.Rule, StringComparison.Ordinal))
        {
            differences.Add($"rule:     expected {testCase.Rule ?? "(none)"}, got {decision.Rule ?? "(none)"}");
        }

        if (testCase.Reason is { } reason && !string.Equals(reason, decision.Reason, StringComparison.Ordinal))
        {
            differences.Add($"reason:   expected {reason}, got {decision.Reason}");
        }

        if (differences.Count > 0)
        {
            differences.Add("explain:");
        }

        return differences;
    }
}
