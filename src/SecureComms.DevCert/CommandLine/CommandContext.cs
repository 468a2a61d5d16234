namespace SecureComms.DevCert;

/// <summary>Where a command writes and which clock it reads; tests pass their own.</summary>
internal sealed class CommandContext(TextWriter output, TextWriter error, TimeProvider timeProvider)
{
    /// <summary>Results: what was written, the certificate's description, the findings.</summary>
    public TextWriter Output { get; } = output;

    /// <summary>Errors and summaries.</summary>
    public TextWriter Error { get; } = error;

    /// <summary>The clock for validity windows.</summary>
    public TimeProvider TimeProvider { get; } = timeProvider;

    /// <summary>Writes <c>error: {message}</c> and returns <paramref name="exitCode"/>.</summary>
    public int Fail(string message, int exitCode = ExitCodes.Failed)
    {
        Error.WriteLine($"error: {message}");
        return exitCode;
    }

    /// <summary>Writes a usage error with a pointer to the command's help and returns <see cref="ExitCodes.Usage"/>.</summary>
    public int UsageError(string message, string command)
    {
        Error.WriteLine($"error: {message}");
        Error.WriteLine($"Run 'securecomms-dev {command} --help' for usage.");
        return ExitCodes.Usage;
    }
}
