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
    /// Reads <c>x5t#S256</c> from the JSON text of a <c>cnf</c> claim. Returns false when the claim is not a JSON object
    /// (RFC 7800 §3.1), or its <c>x5t#S256</c> is not one string (RFC 8705 §3.1); <paramref name="thumbprint"/> is null
    /// when the object carries no <c>x5t#S256</c>. Never throws for bad input.
    /// </summary>
    internal static bool TryReadThumbprint(string cnfJson, out string? thumbprint)
    {
        thumbprint = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(cnfJson);
            return TryReadThumbprint(document.RootElement, out thumbprint);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            // ArgumentException: text with a lone surrogate cannot be transcoded to UTF-8; InvalidOperationException:
            // a member name escaping a lone surrogate cannot be compared.
            return false;
        }
    }

    /// <summary>
    /// Reads the <c>cnf</c> member of a JWT payload (its UTF-8 JSON) as the token carries it, without trusting what a
    /// claims view makes of it (a string holding JSON, or a one-element array, looks like an object there). Returns
    /// false when <c>cnf</c> occurs more than once, is not a JSON object, or its <c>x5t#S256</c> is not one string;
    /// true with a null <paramref name="thumbprint"/> when the payload has no <c>cnf</c> or it has no <c>x5t#S256</c>.
    /// </summary>
    internal static bool TryReadFromPayload(ReadOnlySpan<byte> payloadJson, out string? thumbprint)
    {
        thumbprint = null;
        try
        {
            var reader = new Utf8JsonReader(payloadJson);
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            bool seen = false;
            foreach (JsonProperty member in document.RootElement.EnumerateObject())
            {
                if (member.NameEquals("cnf"))
                {
                    if (seen || !TryReadThumbprint(member.Value, out thumbprint))
                    {
                        thumbprint = null;
                        return false;
                    }

                    seen = true;
                }
            }

            return true;
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            thumbprint = null;
            return false;
        }
    }

    private static bool TryReadThumbprint(JsonElement cnf, out string? thumbprint)
    {
        thumbprint = null;
        if (cnf.ValueKind != JsonValueKind.Object)
        {
            return false; // RFC 7800 §3.1: cnf is a JSON object; a string or an array is refused, not re-read
        }

        bool seen = false;
        foreach (JsonProperty member in cnf.EnumerateObject())
        {
            if (!member.NameEquals("x5t#S256"))
            {
                continue;
            }

            // RFC 8705 §3.1: a base64url string, once. An escaped lone surrogate is valid JSON but not a readable string.
            if (seen || member.Value.ValueKind != JsonValueKind.String || !IsReadableString(member.Value, out string? value))
            {
                thumbprint = null;
                return false;
            }

            thumbprint = value;
            seen = true;
        }

        return true;
    }

    private static bool IsReadableString(JsonElement element, out string? value)
    {
        try
        {
            value = element.GetString();
            return value is not null;
        }
        catch (InvalidOperationException)
        {
            value = null;
            return false;
        }
    }
}
