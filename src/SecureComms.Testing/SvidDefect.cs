namespace SecureComms.Testing;

/// <summary>
/// A deliberate flaw that <see cref="DevelopmentCertificateAuthority.IssueDefective"/> builds into an otherwise valid
/// X.509-SVID, so tests can show each rule of the X509-SVID specification is enforced. Development and tests only.
/// </summary>
public enum SvidDefect
{
    /// <summary><c>NotAfter</c> is one hour in the past (validity window: two hours ago to one hour ago).</summary>
    Expired,

    /// <summary><c>NotBefore</c> is one hour in the future.</summary>
    NotYetValid,

    /// <summary>The leaf says <c>cA=true</c> in its basic constraints (forbidden by X509-SVID §4.1).</summary>
    CertificateAuthorityAsLeaf,

    /// <summary>Two URI SANs, both SPIFFE IDs of the same trust domain (X509-SVID §2 demands exactly one).</summary>
    TwoUriSans,

    /// <summary>No URI SAN at all; a DNS SAN is present instead, like an ordinary TLS server certificate.</summary>
    NoUriSan,

    /// <summary>No key usage extension (X509-SVID §4.3 requires one with <c>digitalSignature</c>).</summary>
    NoKeyUsage,

    /// <summary>Key usage <c>digitalSignature | keyCertSign</c> (keyCertSign forbidden on a leaf, X509-SVID §4.3).</summary>
    KeyCertSignUsage,

    /// <summary>Key usage <c>digitalSignature | cRLSign</c> (cRLSign forbidden on a leaf, X509-SVID §4.3).</summary>
    CrlSignUsage,

    /// <summary>Extended key usage <c>serverAuth</c> only: unusable as a client certificate (X509-SVID §4.4).</summary>
    ServerAuthOnly,

    /// <summary>Extended key usage <c>clientAuth</c> only: unusable as a server certificate (X509-SVID §4.4).</summary>
    ClientAuthOnly,

    /// <summary>The URI SAN is the trust domain's own ID (<c>spiffe://example.org</c>, no path; X509-SVID §2).</summary>
    TrustDomainIdAsWorkload,

    /// <summary>The URI SAN is an <c>https://</c> URI built from the SPIFFE ID, not a SPIFFE ID.</summary>
    NotASpiffeUri,
}
