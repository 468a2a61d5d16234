using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace SecureComms.DevCert;

/// <summary>
/// The entry point of <c>securecomms-dev</c>, callable in-process: parses the command line with System.CommandLine,
/// runs a command and returns the exit code (<see cref="ExitCodes"/>). Never writes key material.
/// </summary>
internal static class DevCertCommand
{
    /// <summary>The tool's command name, as installed (<c>ToolCommandName</c>) and shown in help.</summary>
    public const string Name = "securecomms-dev";

    private const string Description = """
        Development certificates for SecureComms (local development only, never production).

        Example:
          securecomms-dev ca create --trust-domain example.org --out ./certs
          securecomms-dev issue --ca ./certs --spiffe-id spiffe://example.org/orders --out ./certs
          securecomms-dev bundle --ca ./certs --out ./certs
          securecomms-dev inspect ./certs/orders.pem --bundle ./certs/bundle.pem
          securecomms-dev check ./appsettings.json
          securecomms-dev policy explain --config appsettings.json,securecomms.policy.json --caller spiffe://example.org/orders --method POST --path /charges --scope charges.write
          securecomms-dev policy test --config appsettings.json,securecomms.policy.json policy-tests.json
          securecomms-dev policy diff --config ./appsettings.json --config ./appsettings.new.json
          securecomms-dev policy graph --config ./billing/appsettings.json --config ./orders/appsettings.json
          securecomms-dev policy suggest --audit ./billing.log --routes '/invoices/{id}'
          securecomms-dev workload-api serve --ca ./certs --socket /tmp/agent.sock --spiffe-id spiffe://example.org/orders

        Private keys are written owner-only (0600) and never replaced without --force.
        Exit codes: 0 ok, 1 serious findings / invalid certificate / refused / denied / failed policy test, 2 usage error.
        """;

    /// <summary>Runs the tool with the system clock.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(args, output, error, TimeProvider.System);

    /// <summary>Runs the tool with the given clock (tests use a fake one).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, TimeProvider timeProvider) =>
        Prepare(args, output, error, timeProvider, out ParseResult? parsed, out InvocationConfiguration? invocation) is { } exitCode
            ? exitCode
            : parsed!.Invoke(invocation);

    /// <summary>
    /// Runs the tool asynchronously: long-running commands (<c>workload-api serve</c>) stop when
    /// <paramref name="cancellationToken"/> is cancelled or the process gets Ctrl+C / SIGTERM.
    /// </summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TimeProvider timeProvider, CancellationToken cancellationToken) =>
        Prepare(args, output, error, timeProvider, out ParseResult? parsed, out InvocationConfiguration? invocation) is { } exitCode
            ? Task.FromResult(exitCode)
            : parsed!.InvokeAsync(invocation, cancellationToken);

    // Parses the command line; returns the exit code when there is nothing to invoke (a parse error).
    private static int? Prepare(string[] args, TextWriter output, TextWriter error, TimeProvider timeProvider, out ParseResult? parsed, out InvocationConfiguration? invocation)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var context = new CommandContext(output, error, timeProvider);

        // No response files: an argument starting with '@' is a file name to inspect or check, as it always was.
        var parser = new ParserConfiguration { ResponseFileTokenReplacer = null };
        invocation = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        Command root = Create(context, parser, invocation);
        parsed = root.Parse(args, parser);
        if (parsed.Action is ParseErrorAction)
        {
            // Parse errors that --help did not clear: one line each, a pointer to the command's help, exit code 2.
            foreach (ParseError parseError in parsed.Errors)
            {
                error.WriteLine($"error: {parseError.Message}");
            }

            error.WriteLine($"Run '{CommandPath(parsed.CommandResult)} --help' for usage.");
            return ExitCodes.Usage;
        }

        return null;
    }

    private static Command Create(CommandContext context, ParserConfiguration parser, InvocationConfiguration invocation)
    {
        var ca = new Command("ca", "The development CA: 'ca create' creates one for a trust domain (ca.pem, ca.key).")
        {
            CaCreateCommand.Create(context),
        };
        var root = new Command(Name, Description)
        {
            new HelpOption(),
            ca,
            IssueCommand.Create(context),
            BundleCommand.Create(context),
            InspectCommand.Create(context),
            CheckCommand.Create(context),
            PolicyCommand.Create(context),
            new Command("workload-api", "A development SPIFFE Workload API: 'workload-api serve' hands out SVIDs on a Unix socket.")
            {
                WorkloadApiServeCommand.Create(context),
            },
        };

        // 'securecomms-dev help' showed the commands before System.CommandLine; it still does.
        var help = new Command("help", "Show the commands.") { Hidden = true };
        help.SetAction(_ => root.Parse(["--help"], parser).Invoke(invocation));
        root.Add(help);
        return root;
    }

    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? result = command; result is not null; result = result.Parent)
        {
            if (result is CommandResult { Command: { } named })
            {
                names.Insert(0, named.Name);
            }
        }

        return string.Join(' ', names);
    }
}
