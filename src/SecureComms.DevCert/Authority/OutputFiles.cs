namespace SecureComms.DevCert;

/// <summary>Where the tool writes: its output folders and the rule that existing keys are not replaced silently.</summary>
internal static class OutputFiles
{
    /// <summary>The CA certificate file (the CA, then the root) in a CA folder.</summary>
    public const string CaCertificateFile = "ca.pem";

    /// <summary>The CA private key file in a CA folder (owner-only).</summary>
    public const string CaKeyFile = "ca.key";

    /// <summary>The PEM trust bundle file.</summary>
    public const string BundlePemFile = "bundle.pem";

    /// <summary>The SPIFFE trust bundle (JWKS) file.</summary>
    public const string BundleJwksFile = "bundle.jwks.json";

    /// <summary>Creates <paramref name="directory"/> when it is missing, owner-only (0700) on Unix since keys go there.</summary>
    public static void EnsureDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>
    /// Writes the refusal for files that exist (unless <paramref name="force"/>) and says whether to stop.
    /// Nothing is written when any target exists, so a refused command leaves every file as it was.
    /// </summary>
    public static bool RefuseExisting(CommandContext context, bool force, string consequence, params string[] paths)
    {
        if (force)
        {
            return false;
        }

        bool refused = false;
        foreach (string path in paths)
        {
            if (File.Exists(path) || Directory.Exists(path))
            {
                context.Error.WriteLine($"error: '{path}' already exists; not replacing it. Pass --force to replace it ({consequence}).");
                refused = true;
            }
        }

        return refused;
    }

    /// <summary>Resolves <c>--ca</c>: a folder holding <c>ca.pem</c> and <c>ca.key</c>, or the <c>.pem</c> file itself.</summary>
    public static (string CertificatePath, string KeyPath) ResolveCa(string ca) =>
        Directory.Exists(ca)
            ? (Path.Combine(ca, CaCertificateFile), Path.Combine(ca, CaKeyFile))
            : (ca, Path.ChangeExtension(ca, ".key"));

    /// <summary>Describes the permission of a written key file, e.g. <c>owner-only, 0600</c>.</summary>
    public static string DescribeKeyPermission(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return "inherits the folder's ACL";
        }

        UnixFileMode mode = File.GetUnixFileMode(path);
        return (mode & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite)) == 0
            ? $"owner-only, {ToOctal(mode)}"
            : $"{ToOctal(mode)}, readable by others";
    }

    /// <summary>A Unix mode as four octal digits, e.g. <c>0600</c>.</summary>
    public static string ToOctal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8).PadLeft(3, '0');
}
