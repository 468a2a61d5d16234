namespace SecureComms;

/// <summary>One trust domain's bundle file (<c>SecureComms:TrustBundles:{trust-domain}</c>).</summary>
public sealed class TrustBundleOptions
{
    /// <summary>Path of the bundle file. Required.</summary>
    public string? Path { get; set; }

    /// <summary>
    /// <see cref="TrustBundleFormat.Pem"/> (default; CA certificates in PEM) or
    /// <see cref="TrustBundleFormat.SpiffeBundle"/> (the SPIFFE bundle JWKS with <c>use: x509-svid</c> keys).
    /// </summary>
    public TrustBundleFormat Format { get; set; } = TrustBundleFormat.Pem;
}
