using SecureComms.Testing;

namespace SecureComms.Load.Churn;

/// <summary>
/// One workload's identity as a deployment hands it over: its X.509-SVID (leaf, then intermediates), its private key
/// and its trust bundle as PEM files in a folder of its own, each replaced by a temporary file renamed over it (as
/// spiffe-helper and cert-manager's CSI driver do), so that the workload never reads half a file.
/// </summary>
internal sealed class WorkloadFiles
{
    public WorkloadFiles(string folder)
    {
        Directory.CreateDirectory(folder);
        CertificatePath = Path.Combine(folder, "svid.pem");
        KeyPath = Path.Combine(folder, "svid_key.pem");
        BundlePath = Path.Combine(folder, "bundle.pem");
    }

    public string CertificatePath { get; }

    public string KeyPath { get; }

    public string BundlePath { get; }

    /// <summary>Writes <paramref name="svid"/>: the key first, then the certificate, each renamed over its file.</summary>
    public void WriteSvid(WorkloadCertificate svid) => DevelopmentCertificateAuthority.WriteCertificatePem(svid, CertificatePath, KeyPath);

    /// <summary>Writes <paramref name="authority"/>'s root as the trust bundle, renamed over its file.</summary>
    public void WriteBundle(DevelopmentCertificateAuthority authority) => authority.WriteTrustBundlePem(BundlePath);
}
