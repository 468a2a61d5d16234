using System.CommandLine;

namespace SecureComms.DevCert;

/// <summary>
/// <c>inspect</c>: describes a certificate and asks the library's own X.509-SVID validator whether it is valid,
/// for each side of a connection, with its reasons.
/// </summary>
internal static class InspectCommand
{
    private const string Description = """
        Prints the certificate's SPIFFE ID, subject, validity, key, key usage and extended key usage, then
        "valid X.509-SVID: yes" or "no" with the reasons, as SecureComms validates a peer in the TLS handshake.
        The file may hold intermediates after the leaf. Without --bundle only the leaf rules and validity are
        checked, not the chain.
        Exit code: 0 valid, 1 not valid (or unreadable), 2 usage error.
        """;

    /// <summary>The <c>inspect</c> command.</summary>
    public static Command Create(CommandContext context)
    {
        var certificate = new Argument<string>("certificate.pem") { Description = "the certificate file (PEM), leaf first" };
        Option<string> bundle = CommandLineOptions.Value("--bundle", "file", "the trust bundle of the certificate's trust domain (PEM or SPIFFE JWKS, detected)");
        Option<string> side = CommandLineOptions.Value("--side", "client|server|both", "check it as a caller's (client), a server's, or both (default both)");
        var command = new Command("inspect", Description) { certificate, bundle, side };
        command.SetAction(parsed => Run(context, parsed.GetRequiredValue(certificate), parsed.GetValue(bundle), parsed.GetValue(side)));
        return command;
    }

    private static int Run(CommandContext context, string path, string? bundlePath, string? sideText)
    {
        const string Command = "inspect";
        PeerSide[] sides;
        switch (sideText ?? "both")
        {
            case "client":
                sides = [PeerSide.Client];
                break;
            case "server":
                sides = [PeerSide.Server];
                break;
            case "both":
                sides = [PeerSide.Client, PeerSide.Server];
                break;
            default:
                return context.UsageError($"--side '{sideText}' must be client, server or both.", Command);
        }

        CertificateFile file;
        try
        {
            file = CertificateFile.Read(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return context.Fail($"cannot read '{path}': {ex.Message}");
        }

        using (file)
        {
            DateTimeOffset now = context.TimeProvider.GetUtcNow();
            CertificateDescription.Write(context.Output, file.Leaf, file.Intermediates.Count, now);

            TrustBundleSet bundles = TrustBundleSet.Empty;
            if (bundlePath is not null)
            {
                // A bundle does not name its trust domain; it is read as the bundle of the certificate's own.
                if (TryGetTrustDomain(file, context, out TrustDomain trustDomain))
                {
                    try
                    {
                        bundles = new TrustBundleSet([DevelopmentCertificateAuthority.LoadTrustBundle(trustDomain, bundlePath, DetectFormat(bundlePath))]);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
                    {
                        return context.Fail($"cannot use the bundle '{bundlePath}': {ex.Message}");
                    }
                }

                CertificateDescription.Line(context.Output, "trust bundle", bundlePath);
            }

            using var source = new InMemoryTrustBundleSource(bundles);
            var failures = new List<string>();
            bool chainUnchecked = false;
            foreach (PeerSide side in sides)
            {
                SvidValidationResult result = DevelopmentCertificateAuthority.ValidateSvid(file.Leaf, file.Intermediates, source, side, context.TimeProvider);
                if (bundlePath is null && result.Failure == SvidValidationFailure.UnknownTrustDomain)
                {
                    chainUnchecked = true; // everything before the chain passed
                    continue;
                }

                if (!result.IsValid)
                {
                    failures.Add($"  as a {side.ToString().ToLowerInvariant()}: {result.Failure}: {result.Detail}");
                }
            }

            if (failures.Count > 0)
            {
                context.Output.WriteLine("valid X.509-SVID: no");
                foreach (string failure in failures)
                {
                    context.Output.WriteLine(failure);
                }

                return ExitCodes.Failed;
            }

            context.Output.WriteLine(chainUnchecked
                ? "valid X.509-SVID: yes, leaf only (the chain was not checked: give --bundle)"
                : "valid X.509-SVID: yes");
            return ExitCodes.Ok;
        }
    }

    private static bool TryGetTrustDomain(CertificateFile file, CommandContext context, out TrustDomain trustDomain)
    {
        // The validator runs without the bundle's trust domain when the leaf has no usable SPIFFE ID, and fails
        // on that first; only a certificate with an ID needs the bundle.
        using var none = new InMemoryTrustBundleSource(TrustBundleSet.Empty);
        SvidValidationResult probe = DevelopmentCertificateAuthority.ValidateSvid(file.Leaf, file.Intermediates, none, PeerSide.Client, context.TimeProvider);
        trustDomain = probe.SpiffeId.TrustDomain;
        return !probe.SpiffeId.IsEmpty;
    }

    private static TrustBundleFormat DetectFormat(string path)
    {
        using var reader = new StreamReader(path);
        int c;
        while ((c = reader.Read()) >= 0 && (char.IsWhiteSpace((char)c) || c == '\uFEFF'))
        {
        }

        return c == '{' ? TrustBundleFormat.SpiffeBundle : TrustBundleFormat.Pem;
    }
}
