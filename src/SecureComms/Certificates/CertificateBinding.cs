using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace SecureComms;

/// <summary>
/// The RFC 8705 §3.1 certificate binding in one place: the <c>x5t#S256</c> thumbprint of a certificate, and reading it
/// back out of a token's <c>cnf</c> claim. Used by the token client and by the receiving side.
/// </summary>
internal static class CertificateBinding
{
    /// <summary>Base64url SHA-256 of the certificate's DER: the <c>x5t#S256</c> confirmation value.</summary>
    internal static string Thumbprint(X509Certificate2 certificate) =>
        Base64Url.EncodeToString(SHA256.HashData(certificate.RawDataMemory.Span));

    /// <summary>
    /// Reads <c>x5t#S256</c> from the JSON value of a <c>cnf</c> claim. Returns false when the claim is not a JSON
    /// object; <paramref name="thumbprint"/> is null when the object carries no <c>x5t#S256</c> string.
    /// </summary>
    internal static bool TryReadThumbprint(string cnfJson, out string? thumbprint)
    {
        thumbprint = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(cnfJson);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            if (document.RootElement.TryGetProperty("x5t#S256", out JsonElement value) && value.ValueKind == JsonValueKind.String)
            {
                thumbprint = value.GetString();
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
