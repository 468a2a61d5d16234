namespace SecureComms.DevCert;

/// <summary><c>bundle</c>: the trust bundle of a saved development CA, as PEM and as a SPIFFE bundle (JWKS).</summary>
internal static class BundleCommand
{
    public const string Usage = """
        Usage: securecomms-dev bundle --ca <folder> --out <folder> [--refresh-hint 5m]

        Writes the trust bundle of the development CA (its root certificate, public only):
          <folder>/bundle.pem        PEM      (SecureComms:TrustBundles:<trust-domain>:Path, Format Pem)
          <folder>/bundle.jwks.json  SPIFFE bundle: x509-svid keys with kty and x5c, spiffe_refresh_hint
                                     (SecureComms:TrustBundles:<trust-domain>:Path, Format SpiffeBundle)
        Existing bundle files are replaced: they hold no secret.

        Options:
          --ca <folder>              the folder of 'ca create' (or its ca.pem, with ca.key beside it)
          --out <folder>             where to write
          --refresh-hint <duration>  spiffe_refresh_hint of the JWKS (default 5m)
          -h, --help                 show this help
        """;

    private static readonly TimeSpan DefaultRefreshHint = TimeSpan.FromMinutes(5);

    public static int Run(IReadOnlyList<string> args, CommandContext context)
    {
        const string Command = "bundle";
        if (!CommandArguments.TryParse(args, ["--ca", "--out", "--refresh-hint"], [], out CommandArguments? parsed, out string? error))
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

        string? ca = parsed.Get("--ca");
        string? output = parsed.Get("--out");
        if (ca is null || output is null)
        {
            return context.UsageError("--ca and --out are required.", Command);
        }

        TimeSpan refreshHint = DefaultRefreshHint;
        if (parsed.Get("--refresh-hint") is { } hintText && !Durations.TryParse(hintText, out refreshHint))
        {
            return context.UsageError($"--refresh-hint '{hintText}' is not a positive duration such as 5m.", Command);
        }

        if (!SavedAuthority.TryLoad(context, ca, out DevelopmentCertificateAuthority? authority))
        {
            return ExitCodes.Failed;
        }

        using (authority)
        {
            OutputFiles.EnsureDirectory(output);
            string pemPath = Path.Combine(output, OutputFiles.BundlePemFile);
            string jwksPath = Path.Combine(output, OutputFiles.BundleJwksFile);
            authority.WriteTrustBundlePem(pemPath);
            authority.WriteTrustBundleSpiffe(jwksPath, refreshHint);
            context.Output.WriteLine($"Wrote the trust bundle of {authority.TrustDomain.Id}:");
            context.Output.WriteLine($"  {pemPath} (Format Pem)");
            context.Output.WriteLine($"  {jwksPath} (Format SpiffeBundle)");
            context.Output.WriteLine($"Configure: SecureComms:TrustBundles:{authority.TrustDomain}:Path");
        }

        return ExitCodes.Ok;
    }
}
