using System.CommandLine;
using Microsoft.Extensions.Configuration;

namespace SecureComms.DevCert;

/// <summary><c>check</c>: lists the insecure settings of a service's <c>SecureComms</c> configuration, one per line.</summary>
internal static class CheckCommand
{
    private const string Description = """
        Reads the SecureComms section and prints one finding per line: a severity (serious, warning, info), the
        configuration key, and why it matters. Among them: token binding or token type checks turned off, no token
        validation, allow-all authorization rules, dry-run left on, plaintext listeners and clients, a certificate
        that is expired, long-lived or not a valid X.509-SVID for the configured bundle, a world-readable key, and
        the CA files (ServerCaBundlePath) that authorization servers of an internal CA are trusted by; for gRPC,
        rule paths that are no gRPC method path (/package.Service/Method, /package.Service/*) or leave out POST,
        listeners without HTTP/2 (plaintext endpoints, Kestrel endpoints) and client addresses a gRPC client cannot use.
        Relative file paths are resolved against the folder of the appsettings file.
        Exit code: 0 no serious finding, 1 at least one serious finding (or unreadable file), 2 usage error.
        """;

    private static readonly TimeSpan DefaultMaxLifetime = TimeSpan.FromDays(7);

    /// <summary>The <c>check</c> command.</summary>
    public static Command Create(CommandContext context)
    {
        var settings = new Argument<string>("appsettings.json") { Description = "the service's appsettings JSON file" };
        Option<string> maxLifetime = CommandLineOptions.Value("--max-lifetime", "duration", "longest acceptable certificate lifetime (default 7d)");
        var command = new Command("check", Description) { settings, maxLifetime };
        command.SetAction(parsed => Run(context, parsed.GetRequiredValue(settings), parsed.GetValue(maxLifetime)));
        return command;
    }

    private static int Run(CommandContext context, string settingsPath, string? lifetimeText)
    {
        const string Command = "check";
        TimeSpan maxLifetime = DefaultMaxLifetime;
        if (lifetimeText is not null && !Durations.TryParse(lifetimeText, out maxLifetime))
        {
            return context.UsageError($"--max-lifetime '{lifetimeText}' is not a positive duration such as 7d.", Command);
        }

        string path = Path.GetFullPath(settingsPath);
        IConfiguration configuration;
        try
        {
            configuration = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
        {
            return context.Fail($"cannot read '{settingsPath}': {ex.Message}");
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
            ? $"No insecure settings found in '{settingsPath}'."
            : $"{serious} serious, {warnings} warning(s), {findings.Count - serious - warnings} info in '{settingsPath}'.");
        return serious > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }
}
