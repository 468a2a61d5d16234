namespace SecureComms;

/// <summary>Where the workload's X.509-SVID and trust bundles come from (<c>SecureComms:Certificate:Source</c>).</summary>
public enum CertificateSourceKind
{
    /// <summary>
    /// The default: the SPIFFE Workload API when its endpoint is known (<c>SecureComms:WorkloadApi:Socket</c> or
    /// <c>SPIFFE_ENDPOINT_SOCKET</c>) and no certificate is configured; otherwise the configured certificate.
    /// </summary>
    Automatic = 0,

    /// <summary>The configured certificate (PEM files, a PKCS#12 file or the certificate store) and trust bundle files.</summary>
    Files = 1,

    /// <summary>The SPIFFE Workload API: SVIDs and bundles are pushed by the agent; no file is read.</summary>
    WorkloadApi = 2,
}
