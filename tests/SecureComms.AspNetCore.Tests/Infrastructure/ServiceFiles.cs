using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>A service's identity and trust as files in a temporary folder, as a secret mount would hold them.</summary>
internal static class ServiceFiles
{
    /// <summary>
    /// Writes billing's SVID and key and the example.org bundle into <paramref name="folder"/> (once) and returns the
    /// settings of a service that reads them, listening on 127.0.0.1 at a free port.
    /// </summary>
    public static Dictionary<string, string?> ValidSettings(this TemporaryFolder folder)
    {
        string cert = folder.File("svid.pem");
        string key = folder.File("svid.key");
        string bundle = folder.File("bundle.pem");
        if (!File.Exists(cert))
        {
            DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(TestPki.Billing), cert, key);
            TestPki.Ca.WriteTrustBundlePem(bundle);
        }

        return new Dictionary<string, string?>
        {
            ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0",
            ["SecureComms:Certificate:CertificatePath"] = cert,
            ["SecureComms:Certificate:KeyPath"] = key,
            ["SecureComms:TrustBundles:example.org:Path"] = bundle,
        };
    }
}
