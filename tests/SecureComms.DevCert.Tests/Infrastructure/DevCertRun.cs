namespace SecureComms.DevCert.Tests;

/// <summary>The tool run in-process: exit code and both streams.</summary>
internal sealed record DevCertRun(int ExitCode, string Output, string Error)
{
    public static DevCertRun Of(params string[] args) => With(TimeProvider.System, args);

    public static DevCertRun With(TimeProvider timeProvider, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = DevCertCommand.Run(args, output, error, timeProvider);
        return new DevCertRun(exitCode, output.ToString(), error.ToString());
    }

    public string[] OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\n--- output\n{Output}\n--- error\n{Error}";
}
