namespace SecureComms;

/// <summary>
/// Machine-readable reason a peer certificate was rejected as an X.509-SVID. Values are stable: they appear in logs
/// and metrics as the reason tag.
/// </summary>
public enum SvidValidationFailure
{
    /// <summary>The certificate is a valid X.509-SVID.</summary>
    None = 0,

    /// <summary>No certificate was presented.</summary>
    NoCertificate,

    /// <summary>The leaf has no URI SAN (X509-SVID §2).</summary>
    MissingUriSan,

    /// <summary>The leaf has more than one URI SAN (X509-SVID §2).</summary>
    MultipleUriSans,

    /// <summary>The URI SAN is not a valid SPIFFE ID.</summary>
    InvalidSpiffeId,

    /// <summary>The SPIFFE ID has no path; a trust domain ID is not a workload identity (X509-SVID §2).</summary>
    TrustDomainIdAsWorkload,

    /// <summary>No trust bundle is configured for the peer's trust domain.</summary>
    UnknownTrustDomain,

    /// <summary>The chain does not end at an authority of the peer's trust domain bundle.</summary>
    UntrustedRoot,

    /// <summary>The chain could not be built or is invalid for another reason (signature, intermediate constraints).</summary>
    InvalidChain,

    /// <summary>The leaf or a certificate in its chain has expired.</summary>
    Expired,

    /// <summary>The leaf or a certificate in its chain is not yet valid.</summary>
    NotYetValid,

    /// <summary>The leaf is a CA certificate (<c>cA=true</c>); X509-SVID §4.1 forbids it.</summary>
    LeafIsCertificateAuthority,

    /// <summary>The leaf has no key usage extension, or it lacks <c>digitalSignature</c> (X509-SVID §4.3).</summary>
    MissingDigitalSignature,

    /// <summary>The leaf's key usage includes <c>keyCertSign</c> or <c>cRLSign</c> (X509-SVID §4.3).</summary>
    ForbiddenKeyUsage,

    /// <summary>The leaf has an extended key usage that excludes the purpose of its side (X509-SVID §4.4).</summary>
    WrongExtendedKeyUsage,

    /// <summary>The SPIFFE ID is valid but not the one this side expected (authorizer refused it).</summary>
    UnexpectedSpiffeId,
}
