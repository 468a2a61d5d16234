using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SecureComms.DevCert;

/// <summary>
/// <c>policy suggest</c>: the least Allow rules that allow exactly the calls a service served, read from its logged
/// decisions, as a policy file to review.
/// </summary>
internal static class PolicySuggestCommand
{
    private const string Command = "policy suggest";

    private const string Description = """
        Reads a service's logged authorization decisions (JSON or text console format) and prints the least Allow rules
        that allow exactly the calls it served: dry-run decisions (1413, concrete paths) and allowed requests (1401, route
        templates, logged with LogAllowedRequests). Denied requests (1400) were refused and stay refused; they are listed
        on the error stream. One rule per caller and set of methods. A path is generalised only where a route template
        shows a parameter, written as the policy's route-template pattern: /orders/{id}/items and /orders/{id} stay
        themselves (each parameter exactly one segment); a catch-all /files/{**rest} becomes the prefix /files/*; the
        templates come from the 1401/1400 events and from --routes; a concrete path no template
        matches stays exact. The output is the SecureComms:Authorization section as JSON with '//' comments (which .NET
        configuration reads), each rule after a comment with the calls behind it.
        Exit code: 0 rules suggested, 1 no served call found or a log cannot be read, 2 usage error.
        """;

    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The <c>policy suggest</c> command.</summary>
    public static Command Create(CommandContext context)
    {
        var audit = new Option<string[]>("--audit")
        {
            Description = "the service's log files",
            HelpName = "files",
            Required = true,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = true,
        };
        Option<string> serviceId = CommandLineOptions.Value("--service-id", "spiffe-id", "the service the logs come from (named in the output)");
        var routes = new Option<string[]>("--routes")
        {
            Description = "route templates of the service (/orders/{id}), to generalise the concrete paths of dry-run events",
            HelpName = "templates",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("suggest", Description) { audit, serviceId, routes };
        command.SetAction(parsed => Run(context, parsed.GetRequiredValue(audit), parsed.GetValue(serviceId), parsed.GetValue(routes) ?? []));
        return command;
    }

    private static int Run(CommandContext context, string[] files, string? serviceId, string[] routeTexts)
    {
        if (serviceId is not null && (!SpiffeId.TryParse(serviceId, out SpiffeId service) || service.IsTrustDomainId))
        {
            return context.UsageError($"--service-id '{serviceId}' is not a workload's SPIFFE ID.", Command);
        }

        var routes = new List<RouteTemplate>();
        foreach (string text in routeTexts.SelectMany(r => r.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (RouteTemplate.TryParse(text) is not { } route)
            {
                return context.UsageError($"--routes '{text}' is not a route template such as /orders/{{id}}.", Command);
            }

            routes.Add(route);
        }

        var problems = new List<string>();
        List<AuditEvent> events = AuditLog.Read(files, problems, out int unreadable);
        foreach (string problem in problems)
        {
            context.Error.WriteLine($"error: {problem}");
        }

        if (problems.Count > 0)
        {
            return ExitCodes.Failed;
        }

        PolicySuggestion suggestion = PolicySuggestion.From(events, routes);
        if (suggestion.Rules.Count == 0)
        {
            return context.Fail($"no served call (1413 dry-run or 1401 allowed event) in {files.Length} log file(s); run the service with DryRun (and LogAllowedRequests) first.");
        }

        context.Output.Write(Render(suggestion, serviceId, files.Length));
        context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{suggestion.Rules.Count} rule(s) for {suggestion.Served} served call(s) of {suggestion.Rules.Select(r => r.Caller).Distinct().Count()} caller(s)."));
        foreach (string note in suggestion.Notes)
        {
            context.Error.WriteLine(note);
        }

        if (unreadable > 0)
        {
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{unreadable} line(s) looked like decision events but could not be read."));
        }

        return ExitCodes.Ok;
    }

    private static string Render(PolicySuggestion suggestion, string? serviceId, int fileCount)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"// Suggested by securecomms-dev policy suggest{(serviceId is null ? string.Empty : $" for {serviceId}")} from {fileCount} log file(s): {suggestion.Served} served call(s). Review before use.\n");
        text.Append(suggestion.ScopesLogged
            ? "// Scopes: the scopes every call behind a rule carried.\n"
            : "// Scopes: not in these logs (the decision events do not carry them); add Scopes where the calls need them.\n");
        text.Append("{\n  \"SecureComms\": {\n    \"Authorization\": {\n      \"Rules\": [\n");
        for (int i = 0; i < suggestion.Rules.Count; i++)
        {
            SuggestedRule rule = suggestion.Rules[i];
            text.Append(CultureInfo.InvariantCulture, $"        // {rule.Calls} call(s): {string.Join(", ", rule.Evidence)}\n");
            text.Append("        {\n");
            text.Append(CultureInfo.InvariantCulture, $"          \"Name\": {Quote(rule.Name)},\n");
            text.Append(CultureInfo.InvariantCulture, $"          \"Callers\": [ {Quote(rule.Caller)} ],\n");
            text.Append(CultureInfo.InvariantCulture, $"          \"Methods\": [ {string.Join(", ", rule.Methods.Select(Quote))} ],\n");
            text.Append(CultureInfo.InvariantCulture, $"          \"Paths\": [ {string.Join(", ", rule.Paths.Select(Quote))} ]");
            if (rule.Scopes.Count > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $",\n          \"Scopes\": [ {string.Join(", ", rule.Scopes.Select(Quote))} ]");
            }

            text.Append(i == suggestion.Rules.Count - 1 ? "\n        }\n" : "\n        },\n");
        }

        text.Append("      ]\n    }\n  }\n}\n");
        return text.ToString();
    }

    private static string Quote(string value) => JsonSerializer.Serialize(value, Json);
}
