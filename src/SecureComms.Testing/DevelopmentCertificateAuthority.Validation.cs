using System.Security.Cryptography.X509Certificates;

namespace SecureComms.Testing;

/// <content>Validation: the library's public SVID validator, for development tools and tests.</content>
public sealed partial class DevelopmentCertificateAuthority
{
    /// <summary>
    /// Validates <paramref name="certificate"/> as an X.509-SVID with the same validator a SecureComms service runs
    /// in the TLS handshake (leaf rules, validity, path to the bundle of the certificate's own trust domain), so
    /// development tools and tests get the library's verdict and reasons rather than a re-implementation. A shorthand
    /// for <see cref="PeerCertificateValidator.Validate"/> on a new <see cref="PeerCertificateValidator"/>.
    /// </summary>
    /// <param name="certificate">The leaf; <see langword="null"/> is reported as no certificate.</param>
    /// <param name="intermediates">Intermediates presented with it; used to build the path, never trusted.</param>
    /// <param name="trustBundles">The trusted bundles.</param>
    /// <param name="side">Which side of a connection the certificate is presented on (decides the required EKU).</param>
    /// <param name="timeProvider">The clock; default <see cref="TimeProvider.System"/>.</param>
    public static SvidValidationResult ValidateSvid(
        X509Certificate2? certificate,
        X509Certificate2Collection? intermediates,
        ITrustBundleSource trustBundles,
        PeerSide side,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(trustBundles);
        return new PeerCertificateValidator(trustBundles, timeProvider ?? TimeProvider.System).Validate(certificate, intermediates, side);
    }
}
