using System.CommandLine;
using System.Globalization;

namespace SecureComms.DevCert;

/// <summary>
/// <c>policy diff</c>: which (caller, method, path) combinations a policy change opens or closes, decided by
/// <see cref="CentralPolicy.Evaluate"/> of both compiled policies on the requests of <see cref="RequestSamples"/>.
/// </summary>
internal static class PolicyDiffCommand
{
    private const string Command = "policy diff";

    private const string Description = """
        Compares two versions of a service's central policy and prints, one line per change, which requests the new one
        opens (+) or closes (-): caller, methods, paths, and when the change depends on them the token's scopes and
        claims or the end user, with the rules that decided. Both policies are compiled and evaluated by the service's
        own code on a finite set of requests that stands for every request they can tell apart: each caller and path
        pattern as concrete samples (a prefix as its base and a child, a wildcard with a sample segment, an unlisted
        caller of each trust domain, near-miss paths), the methods the rules name plus one more, with no scopes, all
        scopes and each rule's scopes, with and without an end user. Results are summarised back to the rules' patterns
        where every sample of a pattern changed alike. A configuration is one or more JSON files joined by commas,
        layered in order as the service layers them.
        Exit code: 0 no decision changed, 1 decisions changed (as 'git diff --exit-code'), 2 usage error, unreadable
        configuration or a policy the service would refuse at start-up (as 'policy explain' and 'policy test').
        """;

    /// <summary>The <c>policy diff</c> command.</summary>
    public static Command Create(CommandContext context)
    {
        var configs = new Option<string[]>("--config")
        {
            Description = "the old, then the new configuration (files joined by commas, layered in order)",
            HelpName = "files",
            Required = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("diff", Description) { configs };
        command.SetAction(parsed => Run(context, parsed.GetRequiredValue(configs)));
        return command;
    }

    private static int Run(CommandContext context, string[] configs)
    {
        if (configs.Length != 2)
        {
            return context.UsageError($"--config is given {configs.Length} time(s): name the old configuration, then the new one.", Command);
        }

        var problems = new List<string>();
        ServicePolicy? before = ServicePolicy.TryLoad(configs[0], problems);
        ServicePolicy? after = ServicePolicy.TryLoad(configs[1], problems);
        if (before is null || after is null)
        {
            foreach (string problem in problems)
            {
                context.Error.WriteLine($"error: {problem}");
            }

            // Not 1: that says "decisions changed" to a CI step.
            return ExitCodes.Usage;
        }

        PolicyDiff diff = PolicyDiff.Compare(before, after);
        foreach (string line in diff.Lines)
        {
            context.Output.WriteLine(line);
        }

        context.Error.WriteLine(diff.Lines.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"No decision changes between '{configs[0]}' and '{configs[1]}' ({diff.Compared} requests compared).")
            : string.Create(CultureInfo.InvariantCulture, $"{diff.Opened} request(s) opened, {diff.Closed} closed between '{configs[0]}' and '{configs[1]}' ({diff.Compared} requests compared)."));
        return diff.Lines.Count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }
}
