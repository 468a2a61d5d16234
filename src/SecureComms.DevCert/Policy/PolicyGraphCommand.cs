using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms.DevCert;

/// <summary><c>policy graph</c>: who may call whom across services, as Mermaid, Graphviz DOT or SVG.</summary>
internal static class PolicyGraphCommand
{
    private const string Command = "policy graph";

    private const string Description = """
        Draws who may call whom across services: an edge from each caller an Allow rule names to the service (labelled
        with the rule's methods, paths and scopes), a dashed red edge for each caller a Deny rule names, and a dashed
        edge from each service to the expected server of each of its outbound clients (SecureComms:Clients:{name}),
        marked as a problem when no rule of that server allows the client's service (decided by the server's compiled
        policy). Each service's own SPIFFE ID is, in this order: the one given in the value (spiffe://example.org/orders=
        appsettings.json), the URI SAN of its certificate file (SecureComms:Certificate:CertificatePath, relative to the
        folder of its first file) when readable, or the ExpectedServer of another given service's client whose
        BaseAddress is one of its SecureComms:Server:Urls.
        --audit overlays decisions from service logs (JSON or text console format; value spiffe://service=files, or
        files alone when one service is drawn): observed allowed and denied calls per edge, and an Allow edge no
        observed call used marked as a candidate to remove.
        --format svg runs Graphviz's dot (Debian package graphviz).
        Exit code: 0 drawn, 1 a configuration, log or identity could not be read or dot failed, 2 usage error.
        """;

    /// <summary>The <c>policy graph</c> command.</summary>
    public static Command Create(CommandContext context)
    {
        var configs = new Option<string[]>("--config")
        {
            Description = "a service's configuration: files joined by commas, optionally after its SPIFFE ID and '='",
            HelpName = "[spiffe-id=]files",
            Required = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var format = new Option<string>("--format") { Description = "mermaid (default), dot or svg", HelpName = "format", DefaultValueFactory = _ => "mermaid" };
        format.AcceptOnlyFromAmong("mermaid", "dot", "svg");
        var audit = new Option<string[]>("--audit")
        {
            Description = "service logs to overlay: [spiffe-id=]files joined by commas",
            HelpName = "[spiffe-id=]files",
            Arity = ArgumentArity.ZeroOrMore,
        };
        Option<string> output = CommandLineOptions.Value("--out", "file", "write the graph to this file instead of the output");
        var command = new Command("graph", Description) { configs, format, audit, output };
        command.SetAction(parsed => Run(context, parsed.GetRequiredValue(configs), parsed.GetValue(format)!, parsed.GetValue(audit) ?? [], parsed.GetValue(output)));
        return command;
    }

    private static int Run(CommandContext context, string[] configs, string format, string[] audits, string? output)
    {
        var problems = new List<string>();
        var loaded = new List<(string? Id, string Files, ServicePolicy Policy)>();
        foreach (string value in configs)
        {
            (string? id, string files) = SplitId(value);
            if (id is not null && (!SpiffeId.TryParse(id, out SpiffeId parsed, out string? error) || parsed.IsTrustDomainId))
            {
                return context.UsageError($"--config '{value}': '{id}' is not a workload's SPIFFE ID{(error is null ? "." : $": {error}")}", Command);
            }

            if (ServicePolicy.TryLoad(files, problems) is { } policy)
            {
                loaded.Add((id, files, policy));
            }
        }

        var services = problems.Count == 0 ? ServiceGraph.Identify(loaded, problems) : null;
        if (services is null || problems.Count > 0)
        {
            return Fail(context, problems);
        }

        ServiceGraph graph = ServiceGraph.Build(services);
        if (audits.Length > 0)
        {
            var events = new List<(SpiffeId Service, AuditEvent Event)>();
            foreach (string value in audits)
            {
                (string? id, string files) = SplitId(value);
                SpiffeId service;
                if (id is not null)
                {
                    if (!SpiffeId.TryParse(id, out service) || !services.Exists(s => s.Id == service))
                    {
                        return context.UsageError($"--audit '{value}': '{id}' is none of the services drawn.", Command);
                    }
                }
                else if (services.Count == 1)
                {
                    service = services[0].Id;
                }
                else
                {
                    return context.UsageError($"--audit '{value}': name the service whose log it is (spiffe://…={files}); a log does not say which service wrote it.", Command);
                }

                List<AuditEvent> read = AuditLog.Read(files.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), problems, out _);
                events.AddRange(read.Select(e => (service, e)));
            }

            if (problems.Count > 0)
            {
                return Fail(context, problems);
            }

            graph.Overlay(events);
        }

        string text;
        if (format == "svg")
        {
            if (!TryRunDot(graph.ToDot(), out text, out string? error))
            {
                return context.Fail(error);
            }
        }
        else
        {
            text = format == "dot" ? graph.ToDot() : graph.ToMermaid();
        }

        if (output is null)
        {
            context.Output.Write(text);
        }
        else
        {
            try
            {
                File.WriteAllText(output, text);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return context.Fail($"cannot write '{output}': {ex.Message}");
            }
        }

        foreach (string note in graph.Notes)
        {
            context.Error.WriteLine(note);
        }

        return ExitCodes.Ok;
    }

    private static int Fail(CommandContext context, List<string> problems)
    {
        foreach (string problem in problems)
        {
            context.Error.WriteLine($"error: {problem}");
        }

        return ExitCodes.Failed;
    }

    /// <summary><c>spiffe://td/svc=a.json,b.json</c> → the ID and the files; a value without an ID → null and the value.</summary>
    internal static (string? Id, string Files) SplitId(string value)
    {
        // A SPIFFE ID never contains '=' (SPIFFE-ID §2.2: letters, digits, '.', '-', '_' in its path).
        int equals = value.IndexOf('=', StringComparison.Ordinal);
        return value.StartsWith("spiffe://", StringComparison.OrdinalIgnoreCase) && equals > 0
            ? (value[..equals], value[(equals + 1)..])
            : (null, value);
    }

    private static bool TryRunDot(string dot, out string svg, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        svg = string.Empty;
        var start = new ProcessStartInfo("dot", "-Tsvg")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        try
        {
            using Process process = Process.Start(start)!;
            process.StandardInput.Write(dot);
            process.StandardInput.Close();
            Task<string> errors = process.StandardError.ReadToEndAsync();
            svg = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                error = $"dot -Tsvg failed ({process.ExitCode}): {errors.GetAwaiter().GetResult().Trim()}";
                return false;
            }
        }
        catch (Win32Exception)
        {
            error = "Graphviz's 'dot' is not installed (Debian: apt-get install graphviz); --format mermaid or dot needs nothing.";
            return false;
        }

        error = null;
        return true;
    }
}
