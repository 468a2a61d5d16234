using System.Diagnostics.CodeAnalysis;

namespace SecureComms.DevCert;

/// <summary>Loads the CA a previous <c>ca create</c> saved, with errors that say what to do.</summary>
internal static class SavedAuthority
{
    /// <summary>Loads the CA named by <c>--ca</c>, or writes why it cannot and returns false.</summary>
    public static bool TryLoad(CommandContext context, string ca, [NotNullWhen(true)] out DevelopmentCertificateAuthority? authority)
    {
        (string certificatePath, string keyPath) = OutputFiles.ResolveCa(ca);
        authority = null;
        if (!File.Exists(certificatePath) || !File.Exists(keyPath))
        {
            context.Fail($"no development CA at '{ca}' (expected '{certificatePath}' and '{keyPath}'); create one with 'securecomms-dev ca create'.");
            return false;
        }

        try
        {
            authority = DevelopmentCertificateAuthority.LoadPem(certificatePath, keyPath, context.TimeProvider);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            context.Fail($"cannot load the development CA at '{ca}': {ex.Message}");
            return false;
        }
    }
}
