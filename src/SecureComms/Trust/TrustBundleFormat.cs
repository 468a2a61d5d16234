namespace SecureComms;

/// <summary>The file format of a trust bundle.</summary>
public enum TrustBundleFormat
{
    /// <summary>PEM: one or more <c>CERTIFICATE</c> blocks, each a CA certificate of the trust domain.</summary>
    Pem,

    /// <summary>
    /// The SPIFFE bundle format (SPIFFE Trust Domain and Bundle §4): a JWK set whose keys with <c>"use": "x509-svid"</c>
    /// each carry one CA certificate in <c>x5c</c>.
    /// </summary>
    SpiffeBundle,
}
