using System.Buffers;
using System.CommandLine;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms.DevCert;

/// <summary><c>issue</c>: an X.509-SVID for one SPIFFE ID, signed by a saved development CA, as PEM files.</summary>
internal static class IssueCommand
{
    private const string Description = """
        Issues an X.509-SVID (URI SAN = the SPIFFE ID, digitalSignature, clientAuth + serverAuth) and writes
          <folder>/<name>.pem   the SVID, then its intermediates  (SecureComms:Certificate:CertificatePath)
          <folder>/<name>.key   its private key, owner-only (0600) (SecureComms:Certificate:KeyPath)
        """;

    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(24);
    private static readonly SearchValues<char> NameCharacters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

    /// <summary>The <c>issue</c> command.</summary>
    public static Command Create(CommandContext context)
    {
        Option<string> ca = CommandLineOptions.Value("--ca", "folder", "the folder of 'ca create' (or its ca.pem, with ca.key beside it)", required: true);
        Option<string> spiffeId = CommandLineOptions.Value("--spiffe-id", "id", "the workload's SPIFFE ID, e.g. spiffe://example.org/orders", required: true);
        Option<string> output = CommandLineOptions.Value("--out", "folder", "where to write (created owner-only when missing)", required: true);
        Option<string> name = CommandLineOptions.Value("--name", "name", "file name without extension (default: the last segment of the ID's path)");
        Option<string> lifetime = CommandLineOptions.Value("--lifetime", "duration", "how long the SVID is valid: 15m, 1h, 24h (default 24h; at most until the CA expires)");
        Option<bool> force = CommandLineOptions.Flag("--force", "replace existing files of that name");
        var command = new Command("issue", Description) { ca, spiffeId, output, name, lifetime, force };
        command.SetAction(parsed => Run(
            context,
            parsed.GetRequiredValue(ca),
            parsed.GetRequiredValue(spiffeId),
            parsed.GetRequiredValue(output),
            parsed.GetValue(name),
            parsed.GetValue(lifetime),
            parsed.GetValue(force)));
        return command;
    }

    private static int Run(CommandContext context, string ca, string idText, string output, string? nameText, string? lifetimeText, bool force)
    {
        const string Command = "issue";
        if (!SpiffeId.TryParse(idText, out SpiffeId id, out string? idError))
        {
            return context.UsageError($"--spiffe-id '{idText}': {idError}", Command);
        }

        if (id.IsTrustDomainId)
        {
            return context.UsageError($"--spiffe-id '{id}' names a trust domain; an SVID needs a workload path such as {id}/orders.", Command);
        }

        string name = nameText ?? id.Path[(id.Path.LastIndexOf('/') + 1)..];
        if (name.Length == 0 || name[0] == '.' || name.AsSpan().ContainsAnyExcept(NameCharacters))
        {
            return context.UsageError($"--name '{name}' must be letters, digits, '.', '_' or '-' and not start with '.'.", Command);
        }

        TimeSpan lifetime = DefaultLifetime;
        if (lifetimeText is not null && !Durations.TryParse(lifetimeText, out lifetime))
        {
            return context.UsageError($"--lifetime '{lifetimeText}' is not a positive duration such as 1h or 24h.", Command);
        }

        string certificatePath = Path.Combine(output, name + ".pem");
        string keyPath = Path.Combine(output, name + ".key");
        (string caCertificatePath, string caKeyPath) = OutputFiles.ResolveCa(ca);
        if (SamePath(certificatePath, caCertificatePath) || SamePath(keyPath, caKeyPath))
        {
            // Even --force must not turn the CA's own files into a leaf: pick another name.
            return context.UsageError($"'{certificatePath}' or '{keyPath}' would replace the CA's own files; choose another --name or --out.", Command);
        }

        if (!SavedAuthority.TryLoad(context, ca, out DevelopmentCertificateAuthority? authority))
        {
            return ExitCodes.Failed;
        }

        using (authority)
        {
            if (!id.IsMemberOf(authority.TrustDomain))
            {
                return context.UsageError($"--spiffe-id '{id}' is not in the CA's trust domain '{authority.TrustDomain}'.", Command);
            }

            DateTimeOffset now = context.TimeProvider.GetUtcNow();
            var caNotAfter = new DateTimeOffset(authority.Certificate.NotAfter.ToUniversalTime());
            if (caNotAfter <= now)
            {
                return context.Fail($"the CA expired at {Durations.FormatInstant(caNotAfter)}; create a new one with 'securecomms-dev ca create --force'.");
            }

            if (now + lifetime > caNotAfter)
            {
                return context.UsageError(
                    $"--lifetime {Durations.Format(lifetime)} outlives the CA, which expires at {Durations.FormatInstant(caNotAfter)} (in {Durations.Format(caNotAfter - now)}); "
                    + "such an SVID would stop validating when the CA does.",
                    Command);
            }

            if (OutputFiles.RefuseExisting(context, force, "the workload's current identity is replaced", certificatePath, keyPath))
            {
                return ExitCodes.Failed;
            }

            OutputFiles.EnsureDirectory(output);
            WorkloadCertificate svid = authority.IssueSvid(id, lifetime);
            try
            {
                DevelopmentCertificateAuthority.WriteCertificatePem(svid, certificatePath, keyPath);
                context.Output.WriteLine($"Issued an X.509-SVID for {id}, valid until {Durations.FormatInstant(svid.NotAfter)} ({Durations.Format(lifetime)}).");
                context.Output.WriteLine($"  certificate: {certificatePath} (SecureComms:Certificate:CertificatePath)");
                context.Output.WriteLine($"  private key: {keyPath} ({OutputFiles.DescribeKeyPermission(keyPath)}; SecureComms:Certificate:KeyPath)");
            }
            finally
            {
                svid.Certificate.Dispose();
                foreach (X509Certificate2 intermediate in svid.Intermediates)
                {
                    intermediate.Dispose();
                }
            }
        }

        return ExitCodes.Ok;
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}
