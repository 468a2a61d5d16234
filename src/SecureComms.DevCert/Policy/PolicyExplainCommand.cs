using System.CommandLine;
using System.Text.Json;

namespace SecureComms.DevCert;

/// <summary><c>policy explain</c>: why a service's central policy allows or denies one request.</summary>
internal static class PolicyExplainCommand
{
    private const string Description = """
        Loads the service's configuration (files layered in order, later ones win), compiles its central policy with
        the service's own code and decides the request as the service would: the decision and its reason, the rule
        that decided, audit rules, whether the policy is in dry run; when no rule matched, the nearest Allow rules
        with what did not match (caller, method, path, claims, user, scopes).
        The path is taken as the service sees it (HttpRequest.Path): Kestrel has already percent-decoded it (except
        %2F) and removed dot segments; a path the service refuses as ambiguous is reported as NonCanonicalPath.
        Exit code: 0 allowed, 1 denied (also in dry run, where the service would only log it), 2 usage error,
        unreadable configuration or a policy the service would refuse at start-up.
        """;

    /// <summary>The <c>policy explain</c> command.</summary>
    public static Command Create(CommandContext context)
    {
        Option<string> config = CommandLineOptions.Value("--config", "files", "the service's configuration files, comma-separated, in the order the service loads them (appsettings.json,securecomms.policy.json)", required: true);
        var query = new PolicyQueryOptions();
        Option<string> format = CommandLineOptions.Value("--format", "text|json", "the output: text for people (default), json for tools");
        var command = new Command("explain", Description) { config };
        query.AddTo(command);
        command.Add(format);
        command.SetAction(parsed =>
        {
            PolicyQuery? request = query.Read(parsed, out string? error);
            return request is null
                ? context.UsageError(error!, "policy explain")
                : Run(context, parsed.GetRequiredValue(config), request, parsed.GetValue(format) ?? "text");
        });
        return command;
    }

    private static int Run(CommandContext context, string config, PolicyQuery query, string format)
    {
        if (format is not ("text" or "json"))
        {
            return context.UsageError($"--format '{format}' is not text or json.", "policy explain");
        }

        var problems = new List<string>();
        if (ServicePolicy.TryLoad(config, problems) is not { } service)
        {
            return WriteProblems(context, config, problems);
        }

        var explanation = PolicyExplanation.Explain(service.Policy, query);
        if (format == "json")
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                explanation.WriteJson(json);
            }

            context.Output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
        }
        else
        {
            explanation.WriteText(context.Output);
        }

        return explanation.Allowed ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>Writes why <paramref name="config"/> could not be loaded, one problem a line; returns <see cref="ExitCodes.Usage"/>.</summary>
    internal static int WriteProblems(CommandContext context, string config, List<string> problems)
    {
        context.Error.WriteLine($"error: the policy of '{config}' cannot be used:");
        foreach (string problem in problems)
        {
            context.Error.WriteLine($"  {problem}");
        }

        return ExitCodes.Usage;
    }
}
