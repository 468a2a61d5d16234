namespace SecureComms.DevCert;

/// <summary>The process exit codes of <c>securecomms-dev</c>.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked; no serious finding, the certificate is valid.</summary>
    public const int Ok = 0;

    /// <summary>
    /// Serious findings, an invalid certificate, or the command could not do its work (a key file already exists,
    /// an input file is unreadable).
    /// </summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: unknown command or option, missing or malformed value.</summary>
    public const int Usage = 2;
}
