using System.CommandLine;

namespace SecureComms.DevCert;

/// <summary><c>ca create</c>: a development root CA for one trust domain, saved as <c>ca.pem</c> and <c>ca.key</c>.</summary>
internal static class CaCreateCommand
{
    private const string Description = """
        Creates a development root CA for one trust domain (ECDSA P-256, URI SAN spiffe://<trust-domain>) and writes
          <folder>/ca.pem   the CA certificate
          <folder>/ca.key   its private key, owner-only (0600)
        Development only: whoever can read ca.key can mint identities your services trust.
        """;

    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(30);

    /// <summary>The <c>create</c> command under <c>ca</c>.</summary>
    public static Command Create(CommandContext context)
    {
        Option<string> trustDomain = CommandLineOptions.Value("--trust-domain", "name", "the trust domain, e.g. example.org", required: true);
        Option<string> output = CommandLineOptions.Value("--out", "folder", "where to write (created owner-only when missing)", required: true);
        Option<string> lifetime = CommandLineOptions.Value("--lifetime", "duration", "how long the CA is valid: 90s, 15m, 24h, 30d (default 30d)");
        Option<bool> force = CommandLineOptions.Flag("--force", "replace an existing ca.pem/ca.key (SVIDs issued by the old CA stop being trusted)");
        var command = new Command("create", Description) { trustDomain, output, lifetime, force };
        command.SetAction(parsed => Run(
            context,
            parsed.GetRequiredValue(trustDomain),
            parsed.GetRequiredValue(output),
            parsed.GetValue(lifetime),
            parsed.GetValue(force)));
        return command;
    }

    private static int Run(CommandContext context, string trustDomainText, string output, string? lifetimeText, bool force)
    {
        const string Command = "ca create";
        if (!TrustDomain.TryParse(trustDomainText, out TrustDomain trustDomain, out string? trustDomainError))
        {
            return context.UsageError($"--trust-domain '{trustDomainText}': {trustDomainError}", Command);
        }

        TimeSpan lifetime = DefaultLifetime;
        if (lifetimeText is not null && !Durations.TryParse(lifetimeText, out lifetime))
        {
            return context.UsageError($"--lifetime '{lifetimeText}' is not a positive duration such as 30d, 24h or 15m.", Command);
        }

        string certificatePath = Path.Combine(output, OutputFiles.CaCertificateFile);
        string keyPath = Path.Combine(output, OutputFiles.CaKeyFile);
        if (OutputFiles.RefuseExisting(context, force, "SVIDs issued by the old CA stop being trusted", certificatePath, keyPath))
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
