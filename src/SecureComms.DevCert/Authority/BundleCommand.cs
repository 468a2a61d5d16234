using System.CommandLine;

namespace SecureComms.DevCert;

/// <summary><c>bundle</c>: the trust bundle of a saved development CA, as PEM and as a SPIFFE bundle (JWKS).</summary>
internal static class BundleCommand
{
    private const string Description = """
        Writes the trust bundle of the development CA (its root certificate, public only):
          <folder>/bundle.pem        PEM      (SecureComms:TrustBundles:<trust-domain>:Path, Format Pem)
          <folder>/bundle.jwks.json  SPIFFE bundle: x509-svid keys with kty and x5c, spiffe_refresh_hint
                                     (SecureComms:TrustBundles:<trust-domain>:Path, Format SpiffeBundle)
        Existing bundle files are replaced: they hold no secret.
        """;

    private static readonly TimeSpan DefaultRefreshHint = TimeSpan.FromMinutes(5);

    /// <summary>The <c>bundle</c> command.</summary>
    public static Command Create(CommandContext context)
    {
        Option<string> ca = CommandLineOptions.Value("--ca", "folder", "the folder of 'ca create' (or its ca.pem, with ca.key beside it)", required: true);
        Option<string> output = CommandLineOptions.Value("--out", "folder", "where to write", required: true);
        Option<string> refreshHint = CommandLineOptions.Value("--refresh-hint", "duration", "spiffe_refresh_hint of the JWKS (default 5m)");
        var command = new Command("bundle", Description) { ca, output, refreshHint };
        command.SetAction(parsed => Run(context, parsed.GetRequiredValue(ca), parsed.GetRequiredValue(output), parsed.GetValue(refreshHint)));
        return command;
    }

    private static int Run(CommandContext context, string ca, string output, string? hintText)
    {
        const string Command = "bundle";
        TimeSpan refreshHint = DefaultRefreshHint;
        if (hintText is not null && !Durations.TryParse(hintText, out refreshHint))
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
