namespace SecureComms.DevCert;

/// <summary><c>ca create</c>: a development root CA for one trust domain, saved as <c>ca.pem</c> and <c>ca.key</c>.</summary>
internal static class CaCreateCommand
{
    public const string Usage = """
        Usage: securecomms-dev ca create --trust-domain <name> --out <folder> [--lifetime 30d] [--force]

        Creates a development root CA for one trust domain (ECDSA P-256, URI SAN spiffe://<trust-domain>) and writes
          <folder>/ca.pem   the CA certificate
          <folder>/ca.key   its private key, owner-only (0600)
        Development only: whoever can read ca.key can mint identities your services trust.

        Options:
          --trust-domain <name>  the trust domain, e.g. example.org
          --out <folder>         where to write (created owner-only when missing)
          --lifetime <duration>  how long the CA is valid: 90s, 15m, 24h, 30d (default 30d)
          --force                replace an existing ca.pem/ca.key (SVIDs issued by the old CA stop being trusted)
          -h, --help             show this help
        """;

    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(30);

    public static int Run(IReadOnlyList<string> args, CommandContext context)
    {
        const string Command = "ca create";
        if (!CommandArguments.TryParse(args, ["--trust-domain", "--out", "--lifetime"], ["--force"], out CommandArguments? parsed, out string? error))
        {
            return context.UsageError(error, Command);
        }

        if (parsed.WantsHelp)
        {
            context.Output.WriteLine(Usage);
            return ExitCodes.Ok;
        }

        if (parsed.Positional.Count > 0)
        {
            return context.UsageError($"unexpected argument '{parsed.Positional[0]}'.", Command);
        }

        string? trustDomainText = parsed.Get("--trust-domain");
        string? output = parsed.Get("--out");
        if (trustDomainText is null || output is null)
        {
            return context.UsageError("--trust-domain and --out are required.", Command);
        }

        if (!TrustDomain.TryParse(trustDomainText, out TrustDomain trustDomain, out string? trustDomainError))
        {
            return context.UsageError($"--trust-domain '{trustDomainText}': {trustDomainError}", Command);
        }

        TimeSpan lifetime = DefaultLifetime;
        if (parsed.Get("--lifetime") is { } lifetimeText && !Durations.TryParse(lifetimeText, out lifetime))
        {
            return context.UsageError($"--lifetime '{lifetimeText}' is not a positive duration such as 30d, 24h or 15m.", Command);
        }

        string certificatePath = Path.Combine(output, OutputFiles.CaCertificateFile);
        string keyPath = Path.Combine(output, OutputFiles.CaKeyFile);
        if (OutputFiles.RefuseExisting(context, parsed.Has("--force"), "SVIDs issued by the old CA stop being trusted", certificatePath, keyPath))
        {
            return ExitCodes.Failed;
        }

        OutputFiles.EnsureDirectory(output);
        using var authority = DevelopmentCertificateAuthority.Create(trustDomain, context.TimeProvider, lifetime);
        authority.SavePem(certificatePath, keyPath);

        context.Output.WriteLine($"Created a development CA for {trustDomain.Id}, valid until {Durations.FormatInstant(authority.Certificate.NotAfter)} ({Durations.Format(lifetime)}).");
        context.Output.WriteLine($"  certificate: {certificatePath}");
        context.Output.WriteLine($"  private key: {keyPath} ({OutputFiles.DescribeKeyPermission(keyPath)})");
        context.Output.WriteLine($"Next: securecomms-dev issue --ca {output} --spiffe-id {trustDomain.Id}/<workload> --out {output}");
        return ExitCodes.Ok;
    }
}
