using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>
/// Reads PEM text (RFC 7468) strictly enough to notice a file caught half-written: a <c>-----BEGIN</c> line that does
/// not start a complete, well-formed block is an error, where <see cref="X509Certificate2Collection.ImportFromPem"/>
/// would silently skip it and return fewer certificates. Errors are returned as text so that callers name their file;
/// they never quote file contents.
/// </summary>
internal static class PemReader
{
    private const string BeginMarker = "-----BEGIN";
    private const string CertificateLabel = "CERTIFICATE";

    /// <summary>The private key labels accepted, RFC 7468 §10–11 plus the OpenSSL traditional (SEC1, PKCS#1) ones.</summary>
    private static readonly string[] PrivateKeyLabels = ["PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"];

    /// <summary>Reads every <c>CERTIFICATE</c> block, in file order; blocks with other labels are skipped.</summary>
    /// <returns>False, with <paramref name="error"/>, when a block is incomplete or not a readable certificate.</returns>
    internal static bool TryReadCertificates(ReadOnlySpan<char> pem, out X509Certificate2Collection certificates, out string? error)
    {
        certificates = [];
        int position = 0;
        while (PemEncoding.TryFind(pem[position..], out PemFields fields))
        {
            ReadOnlySpan<char> block = pem[position..];
            if (block[..fields.Location.Start].Contains(BeginMarker, StringComparison.Ordinal))
            {
                return Fail(certificates, "holds a malformed PEM block", out error);
            }

            if (block[fields.Label].SequenceEqual(CertificateLabel))
            {
                byte[] der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(block[fields.Base64Data], der, out int written))
                {
                    return Fail(certificates, $"holds a malformed CERTIFICATE block (number {certificates.Count + 1})", out error);
                }

                try
                {
                    certificates.Add(X509CertificateLoader.LoadCertificate(der.AsSpan(0, written)));
                }
                catch (CryptographicException)
                {
                    return Fail(certificates, $"holds a CERTIFICATE block (number {certificates.Count + 1}) that is not a readable X.509 certificate", out error);
                }
            }

            position += fields.Location.End.Value;
        }

        ReadOnlySpan<char> tail = pem[position..];
        int begin = tail.IndexOf(BeginMarker, StringComparison.Ordinal);
        if (begin >= 0)
        {
            // An END line after it means a damaged block; none means the file stops mid-block.
            return Fail(
                certificates,
                tail[begin..].Contains("-----END", StringComparison.Ordinal)
                    ? "holds a malformed PEM block"
                    : "ends in an incomplete PEM block (was it read while being written?)",
                out error);
        }

        error = null;
        return true;
    }

    /// <summary>Finds the first private key block; other blocks (e.g. OpenSSL's <c>EC PARAMETERS</c>) are skipped.</summary>
    /// <returns>False, with <paramref name="error"/>, when there is no complete private key block.</returns>
    internal static bool TryFindPrivateKey(ReadOnlySpan<char> pem, out Range block, out bool encrypted, out string? error)
    {
        int position = 0;
        while (PemEncoding.TryFind(pem[position..], out PemFields fields))
        {
            ReadOnlySpan<char> rest = pem[position..];
            ReadOnlySpan<char> label = rest[fields.Label];
            foreach (string accepted in PrivateKeyLabels)
            {
                if (label.SequenceEqual(accepted))
                {
                    block = new Range(position + fields.Location.Start.Value, position + fields.Location.End.Value);
                    encrypted = accepted == "ENCRYPTED PRIVATE KEY";
                    error = null;
                    return true;
                }
            }

            position += fields.Location.End.Value;
        }

        block = default;
        encrypted = false;
        error = pem.Contains(BeginMarker, StringComparison.Ordinal)
            ? "holds no complete PEM private key block (PRIVATE KEY, ENCRYPTED PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY); was it read while being written?"
            : "holds no PEM private key block";
        return false;
    }

    private static bool Fail(X509Certificate2Collection certificates, string message, out string? error)
    {
        foreach (X509Certificate2 certificate in certificates)
        {
            certificate.Dispose();
        }

        certificates.Clear();
        error = message;
        return false;
    }
}
