using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SecureComms;

/// <summary>
/// Writes a trust bundle in the SPIFFE bundle format (Trust Domain and Bundle §4), the form
/// <see cref="TrustBundleLoader"/> reads back. Used by the development tools that publish bundles.
/// </summary>
internal static class SpiffeBundleWriter
{
    /// <summary>
    /// Writes a bundle in the SPIFFE bundle format: one <c>x509-svid</c> JWK per authority with <c>kty</c>, the
    /// public key parameters (RFC 7518 §6.2/§6.3), the certificate in <c>x5c</c>, and no <c>kid</c> (X509-SVID §6.1).
    /// </summary>
    /// <param name="bundle">The bundle to write; ECDSA (P-256, P-384, P-521) and RSA authorities are supported.</param>
    /// <param name="sequence">An optional <c>spiffe_sequence</c> (§4.1.1).</param>
    /// <param name="refreshHint">An optional <c>spiffe_refresh_hint</c>, written in whole seconds (§4.1.2).</param>
    /// <exception cref="ArgumentException">An authority has a key type or curve that JWK cannot express here.</exception>
    internal static string ToJson(TrustBundle bundle, ulong? sequence = null, TimeSpan? refreshHint = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var keys = new JsonArray();
        foreach (X509Certificate2 authority in bundle.Authorities)
        {
            var key = new JsonObject();
            if (authority.GetECDsaPublicKey() is { } ec)
            {
                using (ec)
                {
                    ECParameters parameters = ec.ExportParameters(includePrivateParameters: false);
                    key["kty"] = "EC";
                    key["use"] = TrustBundleLoader.X509SvidUse;
                    key["x5c"] = new JsonArray(Convert.ToBase64String(authority.RawData));
                    key["crv"] = JwkCurveName(parameters.Curve.Oid);
                    key["x"] = Base64Url.EncodeToString(parameters.Q.X);
                    key["y"] = Base64Url.EncodeToString(parameters.Q.Y);
                }
            }
            else if (authority.GetRSAPublicKey() is { } rsa)
            {
                using (rsa)
                {
                    RSAParameters parameters = rsa.ExportParameters(includePrivateParameters: false);
                    key["kty"] = "RSA";
                    key["use"] = TrustBundleLoader.X509SvidUse;
                    key["x5c"] = new JsonArray(Convert.ToBase64String(authority.RawData));
                    key["n"] = Base64Url.EncodeToString(parameters.Modulus);
                    key["e"] = Base64Url.EncodeToString(parameters.Exponent);
                }
            }
            else
            {
                throw new ArgumentException(
                    $"An authority of trust domain '{bundle.TrustDomain}' has a key algorithm ({authority.GetKeyAlgorithm()}) other than ECDSA or RSA.", nameof(bundle));
            }

            keys.Add(key);
        }

        var root = new JsonObject();
        if (sequence is { } s)
        {
            root["spiffe_sequence"] = s;
        }

        if (refreshHint is { } hint)
        {
            root["spiffe_refresh_hint"] = (long)Math.Ceiling(hint.TotalSeconds);
        }

        root["keys"] = keys;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static string JwkCurveName(Oid curve) => (curve.Value, curve.FriendlyName) switch
    {
        ("1.2.840.10045.3.1.7", _) or (_, "nistP256" or "ECDSA_P256") => "P-256",
        ("1.3.132.0.34", _) or (_, "nistP384" or "ECDSA_P384") => "P-384",
        ("1.3.132.0.35", _) or (_, "nistP521" or "ECDSA_P521") => "P-521",
        _ => throw new ArgumentException($"The elliptic curve {curve.Value ?? curve.FriendlyName} has no JWK name (RFC 7518 §6.2.1.1).", nameof(curve)),
    };
}
