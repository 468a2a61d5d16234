using Microsoft.Extensions.Configuration;

namespace SecureComms.DevCert;

/// <summary><c>check</c>: lists the insecure settings of a service's <c>SecureComms</c> configuration, one per line.</summary>
internal static class CheckCommand
{
    public const string Usage = """
        Usage: securecomms-dev check <appsettings.json> [--max-lifetime 7d]

        Reads the SecureComms section and prints one finding per line: a severity (serious, warning, info), the
        configuration key, and why it matters. Among them: token binding or token type checks turned off, no token
        validation, allow-all authorization rules, dry-run left on, plaintext listeners and clients, a certificate
        that is expired, long-lived or not a valid X.509-SVID for the configured bundle, a world-readable key, and
        the CA files (ServerCaBundlePath) that authorization servers of an internal CA are trusted by.
        Relative file paths are resolved against the folder of the appsettings file.

        Options:
          --max-lifetime <duration>  longest acceptable certificate lifetime (default 7d)
          -h, --help                 show this help

        Exit code: 0 no serious finding, 1 at least one serious finding (or unreadable file), 2 usage error.
        """;

    private static readonly TimeSpan DefaultMaxLifetime = TimeSpan.FromDays(7);

    public static int Run(IReadOnlyList<string> args, CommandContext context)
    {
        const string Command = "check";
        if (!CommandArguments.TryParse(args, ["--max-lifetime"], [], out CommandArguments? parsed, out string? error))
        {
            return context.UsageError(error, Command);
        }

        if (parsed.WantsHelp)
        {
            context.Output.WriteLine(Usage);
            return ExitCodes.Ok;
        }

        if (parsed.Positional.Count != 1)
        {
            return context.UsageError("give exactly one appsettings JSON file.", Command);
        }

        TimeSpan maxLifetime = DefaultMaxLifetime;
        if (parsed.Get("--max-lifetime") is { } lifetimeText && !Durations.TryParse(lifetimeText, out maxLifetime))
        {
            return context.UsageError($"--max-lifetime '{lifetimeText}' is not a positive duration such as 7d.", Command);
        }

        string path = Path.GetFullPath(parsed.Positional[0]);
        IConfiguration configuration;
        try
        {
            configuration = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
        {
            return context.Fail($"cannot read '{parsed.Positional[0]}': {ex.Message}");
        }

        var checker = new ConfigurationChecker(Path.GetDirectoryName(path)!, context.TimeProvider, maxLifetime);
        List<Finding> findings = checker.Check(configuration);
        int serious = 0;
        int warnings = 0;
        foreach (Finding finding in findings)
        {
            context.Output.WriteLine(finding.ToString());
            serious += finding.Severity == Severity.Serious ? 1 : 0;
            warnings += finding.Severity == Severity.Warning ? 1 : 0;
        }

        // The summary goes to the error stream so that the output stays one finding per line.
        context.Error.WriteLine(findings.Count == 0
            ? $"No insecure settings found in '{parsed.Positional[0]}'."
            : $"{serious} serious, {warnings} warning(s), {findings.Count - serious - warnings} info in '{parsed.Positional[0]}'.");
        return serious > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }
}
