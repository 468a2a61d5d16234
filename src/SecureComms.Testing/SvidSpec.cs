using System.Security.Cryptography.X509Certificates;

namespace SecureComms.Testing;

/// <summary>
/// Everything <see cref="DevelopmentCertificateAuthority.IssueCertificate"/> puts in a leaf certificate. Values are
/// written as given, byte for byte (URI SANs are not normalised), so a spec can describe well-formed SVIDs as well as
/// deliberately broken ones. Development and tests only.
/// </summary>
public sealed class SvidSpec
{
    /// <summary>The TLS client authentication EKU OID, <c>1.3.6.1.5.5.7.3.2</c>.</summary>
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>The TLS server authentication EKU OID, <c>1.3.6.1.5.5.7.3.1</c>.</summary>
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>URI SANs, written exactly as given (ASCII). Default: empty; the caller sets the SPIFFE ID here.</summary>
    public IList<string> UriSans { get; init; } = [];

    /// <summary>DNS SANs, written exactly as given (ASCII). Default: empty.</summary>
    public IList<string> DnsSans { get; init; } = [];

    /// <summary>Start of validity. Default (<see langword="null"/>): the authority's clock minus five minutes.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>End of validity. Default (<see langword="null"/>): the authority's clock plus one hour.</summary>
    public DateTimeOffset? NotAfter { get; init; }

    /// <summary>The <c>cA</c> flag of the critical basic constraints extension. Default: <see langword="false"/>.</summary>
    public bool IsCertificateAuthority { get; init; }

    /// <summary>
    /// The critical key usage extension. Default: <see cref="X509KeyUsageFlags.DigitalSignature"/>;
    /// <see langword="null"/> leaves the extension out.
    /// </summary>
    public X509KeyUsageFlags? KeyUsage { get; init; } = X509KeyUsageFlags.DigitalSignature;

    /// <summary>
    /// The extended key usage OIDs. Default: <c>clientAuth</c> and <c>serverAuth</c>; <see langword="null"/> leaves
    /// the extension out; an empty list writes an empty extension.
    /// </summary>
    public IList<string>? ExtendedKeyUsageOids { get; init; } = [ClientAuthOid, ServerAuthOid];

    /// <summary>The subject common name. Default: <c>SecureComms Development Workload</c>.</summary>
    public string CommonName { get; init; } = "SecureComms Development Workload";
}
