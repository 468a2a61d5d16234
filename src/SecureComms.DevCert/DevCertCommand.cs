namespace SecureComms.DevCert;

/// <summary>
/// The entry point of <c>securecomms-dev</c>, callable in-process: dispatches to a command and returns the exit code
/// (<see cref="ExitCodes"/>). Never writes key material.
/// </summary>
internal static class DevCertCommand
{
    public const string Usage = """
        securecomms-dev: development certificates for SecureComms (local development only, never production)

        Usage: securecomms-dev <command> [options]

        Commands:
          ca create   create a development CA for a trust domain (ca.pem, ca.key)
          issue       issue an X.509-SVID for a SPIFFE ID to PEM files (<name>.pem, <name>.key)
          bundle      export the CA's trust bundle as PEM and as a SPIFFE bundle (JWKS)
          inspect     describe a certificate and say whether it is a valid X.509-SVID, with the reasons
          check       list the insecure settings of a service's appsettings.json

        Run 'securecomms-dev <command> --help' for a command's options.

        Example:
          securecomms-dev ca create --trust-domain example.org --out ./certs
          securecomms-dev issue --ca ./certs --spiffe-id spiffe://example.org/orders --out ./certs
          securecomms-dev bundle --ca ./certs --out ./certs
          securecomms-dev inspect ./certs/orders.pem --bundle ./certs/bundle.pem
          securecomms-dev check ./appsettings.json

        Private keys are written owner-only (0600) and never replaced without --force.
        Exit codes: 0 ok, 1 serious findings / invalid certificate / refused, 2 usage error.
        """;

    /// <summary>Runs the tool with the system clock.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(args, output, error, TimeProvider.System);

    /// <summary>Runs the tool with the given clock (tests use a fake one).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var context = new CommandContext(output, error, timeProvider);

        if (args.Length == 0)
        {
            error.WriteLine(Usage);
            return ExitCodes.Usage;
        }

        string[] rest = args[1..];
        switch (args[0])
        {
            case "--help" or "-h" or "help":
                output.WriteLine(Usage);
                return ExitCodes.Ok;
            case "ca":
                if (rest.Length > 0 && rest[0] == "create")
                {
                    return CaCreateCommand.Run(rest[1..], context);
                }

                if (rest.Length == 0 || rest[0] is "--help" or "-h")
                {
                    output.WriteLine(CaCreateCommand.Usage);
                    return rest.Length == 0 ? ExitCodes.Usage : ExitCodes.Ok;
                }

                return context.UsageError($"unknown 'ca' command '{rest[0]}'; the only one is 'ca create'.", "ca create");
            case "issue":
                return IssueCommand.Run(rest, context);
            case "bundle":
                return BundleCommand.Run(rest, context);
            case "inspect":
                return InspectCommand.Run(rest, context);
            case "check":
                return CheckCommand.Run(rest, context);
            default:
                error.WriteLine($"error: unknown command '{args[0]}'.");
                error.WriteLine("Run 'securecomms-dev --help' for the commands.");
                return ExitCodes.Usage;
        }
    }
}
