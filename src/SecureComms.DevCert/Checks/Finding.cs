namespace SecureComms.DevCert;

/// <summary>How bad a finding is; <see cref="Serious"/> makes <c>check</c> exit 1.</summary>
internal enum Severity
{
    /// <summary>Worth knowing; nothing to fix.</summary>
    Info,

    /// <summary>Weaker than it should be, or safe only in some deployments.</summary>
    Warning,

    /// <summary>Opens the service to callers or tokens it should refuse; fix before deploying.</summary>
    Serious,
}

/// <summary>One insecure setting: its configuration key and why it matters, printed on one line.</summary>
internal sealed record Finding(Severity Severity, string Key, string Problem)
{
    /// <summary>The word printed first on the line: <c>serious</c>, <c>warning</c> or <c>info</c>.</summary>
    public string SeverityWord => Severity switch
    {
        Severity.Serious => "serious",
        Severity.Warning => "warning",
        _ => "info",
    };

    /// <inheritdoc />
    public override string ToString() => $"{SeverityWord} {Key} {Problem}";
}
