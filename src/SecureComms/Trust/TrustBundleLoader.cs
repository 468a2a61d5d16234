using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SecureComms;

/// <summary>Reads trust bundles from PEM files and from the SPIFFE bundle format, and writes the latter.</summary>
internal static class TrustBundleLoader
{
    private const string X509SvidUse = "x509-svid";

    internal static TrustBundle Load(TrustDomain trustDomain, string path, TrustBundleFormat format) => format switch
    {
        TrustBundleFormat.Pem => LoadPem(trustDomain, path),
        TrustBundleFormat.SpiffeBundle => ParseSpiffeBundle(trustDomain, ReadAllBytes(path), path),
        _ => throw new TrustBundleException($"the bundle format '{format}' of '{path}' is unknown."),
    };

    internal static TrustBundle LoadPem(TrustDomain trustDomain, string path)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new TrustBundleException($"cannot read the trust bundle '{path}' of {trustDomain}: {ex.Message}", ex);
        }

        if (certificates.Count == 0)
        {
            throw new TrustBundleException($"the trust bundle '{path}' of {trustDomain} holds no PEM CERTIFICATE block.");
        }

        for (int i = 0; i < certificates.Count; i++)
        {
            RequireAuthority(certificates[i], $"certificate {i + 1} in '{path}'");
        }

        return new TrustBundle(trustDomain, certificates);
    }

    /// <summary>
    /// The SPIFFE bundle format (SPIFFE Trust Domain and Bundle §4): a JWK set; each key whose <c>use</c> is
    /// <c>x509-svid</c> carries exactly one CA certificate in <c>x5c</c> (§4.2.1). Keys of other uses, such as
    /// <c>jwt-svid</c>, are ignored here (§4.1: unknown uses are ignored).
    /// </summary>
    internal static TrustBundle ParseSpiffeBundle(TrustDomain trustDomain, ReadOnlySpan<byte> json, string source)
    {
        var authorities = new List<X509Certificate2>();
        try
        {
            using JsonDocument document = JsonDocument.Parse(json.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("keys", out JsonElement keys)
                || keys.ValueKind != JsonValueKind.Array)
            {
                throw new TrustBundleException($"the SPIFFE bundle '{source}' has no 'keys' array.");
            }

            int index = 0;
            foreach (JsonElement key in keys.EnumerateArray())
            {
                index++;
                if (!key.TryGetProperty("use", out JsonElement use) || use.ValueKind != JsonValueKind.String || use.GetString() != X509SvidUse)
                {
                    continue;
                }

                if (!key.TryGetProperty("x5c", out JsonElement x5c) || x5c.ValueKind != JsonValueKind.Array || x5c.GetArrayLength() != 1
                    || x5c[0].ValueKind != JsonValueKind.String)
                {
                    throw new TrustBundleException($"key {index} of the SPIFFE bundle '{source}' is an x509-svid authority without exactly one x5c certificate.");
                }

                X509Certificate2 authority;
                try
                {
                    authority = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(x5c[0].GetString()!));
                }
                catch (Exception ex) when (ex is FormatException or CryptographicException)
                {
                    throw new TrustBundleException($"key {index} of the SPIFFE bundle '{source}' has an unreadable x5c certificate.", ex);
                }

                RequireAuthority(authority, $"key {index} of the SPIFFE bundle '{source}'");
                authorities.Add(authority);
            }
        }
        catch (JsonException ex)
        {
            throw new TrustBundleException($"the SPIFFE bundle '{source}' is not valid JSON.", ex);
        }

        if (authorities.Count == 0)
        {
            throw new TrustBundleException($"the SPIFFE bundle '{source}' of {trustDomain} has no x509-svid authority.");
        }

        return new TrustBundle(trustDomain, authorities);
    }

    /// <summary>Writes a bundle in the SPIFFE bundle format, one <c>x509-svid</c> key per authority.</summary>
    internal static string ToSpiffeBundleJson(TrustBundle bundle)
    {
        var keys = new JsonArray();
        foreach (X509Certificate2 authority in bundle.Authorities)
        {
            var key = new JsonObject { ["use"] = X509SvidUse };
            if (authority.GetECDsaPublicKey() is { } ec)
            {
                using (ec)
                {
                    ECParameters parameters = ec.ExportParameters(includePrivateParameters: false);
                    key["kty"] = "EC";
                    key["crv"] = parameters.Curve.Oid.FriendlyName switch
                    {
                        "nistP256" or "ECDSA_P256" => "P-256",
                        "nistP384" or "ECDSA_P384" => "P-384",
                        "nistP521" or "ECDSA_P521" => "P-521",
                        var other => other,
                    };
                    key["x"] = Base64UrlEncode(parameters.Q.X!);
                    key["y"] = Base64UrlEncode(parameters.Q.Y!);
                }
            }
            else if (authority.GetRSAPublicKey() is { } rsa)
            {
                using (rsa)
                {
                    RSAParameters parameters = rsa.ExportParameters(includePrivateParameters: false);
                    key["kty"] = "RSA";
                    key["n"] = Base64UrlEncode(parameters.Modulus!);
                    key["e"] = Base64UrlEncode(parameters.Exponent!);
                }
            }

            key["x5c"] = new JsonArray(Convert.ToBase64String(authority.RawData));
            keys.Add(key);
        }

        var root = new JsonObject { ["keys"] = keys };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static string Base64UrlEncode(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static void RequireAuthority(X509Certificate2 certificate, string what)
    {
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509BasicConstraintsExtension { CertificateAuthority: true })
            {
                return;
            }
        }

        throw new TrustBundleException($"{what} ({certificate.Subject}) is not a CA certificate; a trust bundle holds only authorities.");
    }

    private static byte[] ReadAllBytes(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TrustBundleException($"cannot read the trust bundle '{path}': {ex.Message}", ex);
        }
    }
}
