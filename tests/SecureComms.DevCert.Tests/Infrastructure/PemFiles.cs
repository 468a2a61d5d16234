using System.Security.Cryptography.X509Certificates;

namespace SecureComms.DevCert.Tests;

internal static class PemFiles
{
    /// <summary>The first certificate of a PEM file (public part only).</summary>
    public static X509Certificate2 FirstCertificate(string path)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(path);
        for (int i = 1; i < certificates.Count; i++)
        {
            certificates[i].Dispose();
        }

        return certificates[0];
    }
}
