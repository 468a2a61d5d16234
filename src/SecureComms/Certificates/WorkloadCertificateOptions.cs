namespace SecureComms;

/// <summary>
/// Where the workload's own X.509-SVID is read from (<c>SecureComms:Certificate</c>). Configure exactly one form:
/// PEM files (<see cref="CertificatePath"/> and <see cref="KeyPath"/>), a PKCS#12 file (<see cref="Pkcs12Path"/>), or
/// the certificate store (<see cref="StoreThumbprint"/>). File forms are watched and rotate without a restart.
/// </summary>
public sealed class WorkloadCertificateOptions
{
    /// <summary>
    /// Where the SVID comes from: <see cref="CertificateSourceKind.Automatic"/> (default),
    /// <see cref="CertificateSourceKind.Files"/> or <see cref="CertificateSourceKind.WorkloadApi"/>.
    /// </summary>
    public CertificateSourceKind Source { get; set; }

    /// <summary>PEM file with the leaf certificate first, then its intermediates. No default.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM file with the private key (PKCS#8, SEC1 or PKCS#1). No default.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of an encrypted PKCS#8 key in <see cref="KeyPath"/>. Default none.</summary>
    public string? KeyPassword { get; set; }

    /// <summary>PKCS#12 (.p12/.pfx) file with the leaf, its key and intermediates. No default.</summary>
    public string? Pkcs12Path { get; set; }

    /// <summary>Password of <see cref="Pkcs12Path"/>. Default none.</summary>
    public string? Pkcs12Password { get; set; }

    /// <summary>SHA-1 thumbprint of a certificate in the X.509 store. No default.</summary>
    public string? StoreThumbprint { get; set; }

    /// <summary>Store name used with <see cref="StoreThumbprint"/>. Default <c>My</c>.</summary>
    public string StoreName { get; set; } = "My";

    /// <summary>Store location used with <see cref="StoreThumbprint"/>: <c>CurrentUser</c> (default) or <c>LocalMachine</c>.</summary>
    public string StoreLocation { get; set; } = "CurrentUser";
}
