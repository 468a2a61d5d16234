using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace SecureComms;

/// <summary>
/// Reads trust bundles from PEM files and from the SPIFFE bundle format (which <see cref="SpiffeBundleWriter"/> writes).
/// Every failure is a <see cref="TrustBundleException"/> whose message names the file (or source) and the problem, never
/// certificate contents. The trust domain always comes from configuration: a bundle does not name its own (Trust Domain
/// and Bundle §3, "independently record the name of the trust domain").
/// </summary>
internal static class TrustBundleLoader
{
    /// <summary>The <c>use</c> of a JWK that is an X.509-SVID authority (X509-SVID §6.1).</summary>
    internal const string X509SvidUse = "x509-svid";
    private const string InMemorySource = "(in-memory SPIFFE bundle)";

    /// <summary>JWK key types of RFC 7518 §6.1 and RFC 8037 §2; any other makes the element ignored (§4.2.1).</summary>
    private static readonly string[] KnownKeyTypes = ["EC", "RSA", "oct", "OKP"];

    private static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false };

    internal static TrustBundle Load(TrustDomain trustDomain, string path, TrustBundleFormat format) => format switch
    {
        TrustBundleFormat.Pem => LoadPem(trustDomain, path),
        TrustBundleFormat.SpiffeBundle => LoadSpiffeBundle(trustDomain, path),
        _ => throw new TrustBundleException($"the bundle format '{format}' of '{path}' is unknown."),
    };

    /// <summary>
    /// Reads every <c>CERTIFICATE</c> block of a PEM file; each must be a CA certificate (basic constraints
    /// <c>cA=true</c>), and a block cut short (a file read while being written) is an error.
    /// </summary>
    internal static TrustBundle LoadPem(TrustDomain trustDomain, string path)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TrustBundleException($"cannot read the trust bundle '{path}' of {trustDomain}: {Describe(ex)}", ex);
        }

        if (!PemReader.TryReadCertificates(pem, out X509Certificate2Collection certificates, out string? error))
        {
            throw new TrustBundleException($"the trust bundle '{path}' of {trustDomain} {error}.");
        }

        if (certificates.Count == 0)
        {
            throw new TrustBundleException($"the trust bundle '{path}' of {trustDomain} holds no PEM CERTIFICATE block.");
        }

        try
        {
            for (int i = 0; i < certificates.Count; i++)
            {
                RequireAuthority(certificates[i], $"certificate {i + 1} in the trust bundle '{path}'");
            }
        }
        catch (TrustBundleException)
        {
            DisposeAll([.. certificates]);
            throw;
        }

        return new TrustBundle(trustDomain, certificates);
    }

    /// <summary>Reads a file in the SPIFFE bundle format; see <see cref="ParseSpiffeBundle(TrustDomain, ReadOnlySpan{byte}, string)"/>.</summary>
    internal static TrustBundle LoadSpiffeBundle(TrustDomain trustDomain, string path)
    {
        byte[] json;
        try
        {
            json = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TrustBundleException($"cannot read the trust bundle '{path}' of {trustDomain}: {Describe(ex)}", ex);
        }

        return ParseSpiffeBundle(trustDomain, json, $"'{path}'");
    }

    /// <summary>Parses the SPIFFE bundle format from memory; errors name it "(in-memory SPIFFE bundle)".</summary>
    internal static TrustBundle ParseSpiffeBundle(TrustDomain trustDomain, ReadOnlySpan<byte> json) =>
        ParseSpiffeBundle(trustDomain, json, InMemorySource);

    /// <summary>
    /// Parses the SPIFFE bundle format (Trust Domain and Bundle §4): a JWK set (RFC 7517 §5) with a mandatory
    /// <c>keys</c> array (§4.1.3) and optional integer <c>spiffe_sequence</c> (§4.1.1) and
    /// <c>spiffe_refresh_hint</c> (§4.1.2). Each key whose <c>use</c> is <c>x509-svid</c> must carry exactly one
    /// DER CA certificate, base64 (not base64url), in <c>x5c</c> (X509-SVID §6.1). Keys of any other use, such as
    /// <c>jwt-svid</c>, and keys of an unknown <c>kty</c> are ignored (§4.2.1, §4.2.2). Duplicate authorities are
    /// kept once; duplicate JSON member names are refused as ambiguous.
    /// </summary>
    /// <param name="trustDomain">The trust domain the bundle speaks for.</param>
    /// <param name="json">The UTF-8 JSON, with or without a byte order mark.</param>
    /// <param name="source">Names the bundle in error messages, e.g. a quoted file path.</param>
    internal static TrustBundle ParseSpiffeBundle(TrustDomain trustDomain, ReadOnlySpan<byte> json, string source)
    {
        if (json.StartsWith(Encoding.UTF8.Preamble))
        {
            json = json[Encoding.UTF8.Preamble.Length..];
        }

        var authorities = new List<X509Certificate2>();
        try
        {
            using JsonDocument document = JsonDocument.Parse(json.ToArray(), StrictJson);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new TrustBundleException($"the SPIFFE bundle {source} is not a JSON object.");
            }

            if (root.TryGetProperty("spiffe_sequence", out JsonElement sequence)
                && (sequence.ValueKind != JsonValueKind.Number || !sequence.TryGetUInt64(out _)))
            {
                throw new TrustBundleException($"the SPIFFE bundle {source} has a 'spiffe_sequence' that is not a non-negative integer.");
            }

            if (root.TryGetProperty("spiffe_refresh_hint", out JsonElement refreshHint)
                && (refreshHint.ValueKind != JsonValueKind.Number || !refreshHint.TryGetInt64(out _)))
            {
                throw new TrustBundleException($"the SPIFFE bundle {source} has a 'spiffe_refresh_hint' that is not an integer number of seconds.");
            }

            if (!root.TryGetProperty("keys", out JsonElement keys) || keys.ValueKind != JsonValueKind.Array)
            {
                throw new TrustBundleException($"the SPIFFE bundle {source} has no 'keys' array.");
            }

            int index = 0;
            foreach (JsonElement key in keys.EnumerateArray())
            {
                index++;
                if (key.ValueKind != JsonValueKind.Object)
                {
                    throw new TrustBundleException($"key {index} of the SPIFFE bundle {source} is not a JSON object.");
                }

                if (!IsString(key, "use", X509SvidUse) || HasUnknownKeyType(key))
                {
                    continue;
                }

                X509Certificate2 authority = ReadX5c(key, $"key {index} of the SPIFFE bundle {source}");
                if (authorities.Exists(a => a.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span)))
                {
                    authority.Dispose();
                    continue;
                }

                authorities.Add(authority);
            }
        }
        catch (JsonException ex)
        {
            DisposeAll(authorities);
            throw new TrustBundleException($"the SPIFFE bundle {source} is not valid JSON (line {ex.LineNumber + 1}).", ex);
        }
        catch (InvalidOperationException ex)
        {
            // Valid JSON structure whose string is not text: invalid UTF-8, or an escaped lone surrogate.
            DisposeAll(authorities);
            throw new TrustBundleException($"the SPIFFE bundle {source} holds a string that is not valid UTF-8 text.", ex);
        }
        catch (TrustBundleException)
        {
            DisposeAll(authorities);
            throw;
        }

        if (authorities.Count == 0)
        {
            throw new TrustBundleException($"the SPIFFE bundle {source} of {trustDomain} has no x509-svid authority.");
        }

        return new TrustBundle(trustDomain, authorities);
    }

    private static bool IsString(JsonElement element, string property, string value) =>
        element.TryGetProperty(property, out JsonElement member)
        && member.ValueKind == JsonValueKind.String
        && member.ValueEquals(value);

    private static bool HasUnknownKeyType(JsonElement key)
    {
        if (!key.TryGetProperty("kty", out JsonElement kty))
        {
            return false; // required by §4.2.1, but the certificate in x5c is all we use: accept
        }

        if (kty.ValueKind != JsonValueKind.String)
        {
            return true;
        }

        foreach (string known in KnownKeyTypes)
        {
            if (kty.ValueEquals(known))
            {
                return false;
            }
        }

        return true;
    }

    private static X509Certificate2 ReadX5c(JsonElement key, string what)
    {
        if (!key.TryGetProperty("x5c", out JsonElement x5c) || x5c.ValueKind != JsonValueKind.Array || x5c.GetArrayLength() != 1
            || x5c[0].ValueKind != JsonValueKind.String)
        {
            throw new TrustBundleException($"{what} is an x509-svid authority without exactly one x5c certificate.");
        }

        X509Certificate2 authority;
        try
        {
            authority = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(x5c[0].GetString()!));
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException)
        {
            throw new TrustBundleException($"{what} has an unreadable x5c certificate.", ex);
        }

        try
        {
            RequireAuthority(authority, what);
        }
        catch
        {
            authority.Dispose();
            throw;
        }

        return authority;
    }

    /// <summary>
    /// A trust anchor must be a CA (basic constraints <c>cA=true</c>) whose extensions and public key decode: the DER of
    /// a certificate can parse while an extension or the key inside it is corrupt, and that would otherwise surface
    /// later as a bare "ASN1 corrupted data" naming neither file nor key.
    /// </summary>
    internal static void RequireAuthority(X509Certificate2 certificate, string what)
    {
        bool authority = false;
        try
        {
            foreach (X509Extension extension in certificate.Extensions)
            {
                if (extension is X509BasicConstraintsExtension { CertificateAuthority: true })
                {
                    authority = true;
                }
            }

            using AsymmetricAlgorithm? key = (AsymmetricAlgorithm?)certificate.GetECDsaPublicKey() ?? certificate.GetRSAPublicKey();
        }
        catch (CryptographicException ex)
        {
            throw new TrustBundleException($"{what} is corrupted: its extensions or public key cannot be decoded ({ex.Message.TrimEnd('.')}).", ex);
        }

        if (!authority)
        {
            throw new TrustBundleException($"{what} is not a CA certificate (basic constraints cA=true); a trust bundle holds only authorities.");
        }
    }

    private static void DisposeAll(List<X509Certificate2> certificates)
    {
        foreach (X509Certificate2 certificate in certificates)
        {
            certificate.Dispose();
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "file not found.",
        UnauthorizedAccessException => "permission denied.",
        _ => ex.Message,
    };
}
