using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>The header formats a proxy can forward a client certificate in.</summary>
internal enum ForwardedCertificateFormat
{
    /// <summary>RFC 9440 <c>Client-Cert</c> and <c>Client-Cert-Chain</c>.</summary>
    ClientCertHeader,

    /// <summary>Envoy's <c>x-forwarded-client-cert</c>.</summary>
    EnvoyXfcc,

    /// <summary>nginx <c>$ssl_client_escaped_cert</c>.</summary>
    NginxEscapedPem,
}

/// <summary>Stable failure reasons of <see cref="ForwardedCertificateParser"/>.</summary>
internal static class ForwardedCertificateFailures
{
    internal const string Missing = "Missing";
    internal const string TooLarge = "TooLarge";
    internal const string Malformed = "Malformed";
    internal const string HashMismatch = "HashMismatch";
    internal const string NoCertificate = "NoCertificate";
}

/// <summary>A parsed forwarded certificate, or the reason there is none.</summary>
internal readonly record struct ForwardedCertificateResult(X509Certificate2? Certificate, X509Certificate2Collection? Chain, string? Failure)
{
    internal static ForwardedCertificateResult Fail(string failure) => new(null, null, failure);
}

/// <summary>
/// Reads client certificates forwarded by TLS-terminating proxies. Never throws for bad input: every problem is a
/// failure reason. The size cap is applied before any decoding.
/// </summary>
internal static class ForwardedCertificateParser
{
    public const int DefaultMaxHeaderLength = 16 * 1024;

    public static ForwardedCertificateResult Parse(ForwardedCertificateFormat format, string? headerValue, string? chainHeaderValue = null, int maxLength = DefaultMaxHeaderLength)
    {
        if (string.IsNullOrWhiteSpace(headerValue))
        {
            return ForwardedCertificateResult.Fail(ForwardedCertificateFailures.Missing);
        }

        if (headerValue.Length > maxLength || (chainHeaderValue?.Length ?? 0) > maxLength)
        {
            return ForwardedCertificateResult.Fail(ForwardedCertificateFailures.TooLarge);
        }

        try
        {
            return format switch
            {
                ForwardedCertificateFormat.ClientCertHeader => ParseClientCert(headerValue, chainHeaderValue),
                ForwardedCertificateFormat.EnvoyXfcc => ParseXfcc(headerValue),
                _ => ParseNginx(headerValue),
            };
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException or ArgumentException or UriFormatException)
        {
            return ForwardedCertificateResult.Fail(ForwardedCertificateFailures.Malformed);
        }
    }

    /// <summary>RFC 9440 §2.2: a Structured Field Byte Sequence <c>:base64(DER):</c>, parameters allowed after it.</summary>
    private static ForwardedCertificateResult ParseClientCert(string header, string? chainHeader)
    {
        X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(ReadByteSequence(header.AsSpan().Trim()));
        X509Certificate2Collection? chain = null;
        if (!string.IsNullOrWhiteSpace(chainHeader))
        {
            chain = [];
            foreach (string member in chainHeader.Split(','))
            {
                chain.Add(X509CertificateLoader.LoadCertificate(ReadByteSequence(member.AsSpan().Trim())));
            }
        }

        return new ForwardedCertificateResult(leaf, chain, null);
    }

    private static byte[] ReadByteSequence(ReadOnlySpan<char> item)
    {
        // RFC 8941 §3.3.5: ':' base64 ':' — then optional ';'-parameters (RFC 8941 §3.1.2), nothing else.
        if (item.Length < 2 || item[0] != ':')
        {
            throw new FormatException("not a byte sequence");
        }

        int end = item[1..].IndexOf(':');
        if (end < 0)
        {
            throw new FormatException("unterminated byte sequence");
        }

        ReadOnlySpan<char> rest = item[(end + 2)..].Trim();
        if (!rest.IsEmpty && rest[0] != ';')
        {
            throw new FormatException("junk after the byte sequence");
        }

        return Convert.FromBase64String(item.Slice(1, end).ToString());
    }

    /// <summary>
    /// Envoy XFCC: elements (one per hop) separated by ',', pairs by ';', values with ',' ';' '=' double-quoted. The
    /// element appended by the nearest proxy (the last) is used; <c>Hash</c> must match <c>Cert</c> when both are present.
    /// </summary>
    private static ForwardedCertificateResult ParseXfcc(string header)
    {
        List<List<KeyValuePair<string, string>>> elements = SplitXfcc(header);
        List<KeyValuePair<string, string>> nearest = elements[^1];
        string? hash = null, cert = null, chainPem = null;
        foreach ((string key, string value) in nearest)
        {
            if (key.Equals("Hash", StringComparison.OrdinalIgnoreCase))
            {
                hash = value;
            }
            else if (key.Equals("Cert", StringComparison.OrdinalIgnoreCase))
            {
                cert = value;
            }
            else if (key.Equals("Chain", StringComparison.OrdinalIgnoreCase))
            {
                chainPem = value;
            }
        }

        X509Certificate2? leaf = null;
        X509Certificate2Collection? chain = null;
        if (chainPem is not null)
        {
            var all = new X509Certificate2Collection();
            all.ImportFromPem(Uri.UnescapeDataString(chainPem)); // not form decoding: '+' stays '+'
            if (all.Count > 0)
            {
                leaf = all[0];
                chain = [];
                for (int i = 1; i < all.Count; i++)
                {
                    chain.Add(all[i]);
                }
            }
        }

        if (cert is not null)
        {
            leaf = LoadSinglePem(Uri.UnescapeDataString(cert));
        }

        if (leaf is null)
        {
            return ForwardedCertificateResult.Fail(ForwardedCertificateFailures.NoCertificate);
        }

        if (hash is not null && !hash.Equals(Convert.ToHexString(SHA256.HashData(leaf.RawData)), StringComparison.OrdinalIgnoreCase))
        {
            return ForwardedCertificateResult.Fail(ForwardedCertificateFailures.HashMismatch);
        }

        return new ForwardedCertificateResult(leaf, chain, null);
    }

    private static List<List<KeyValuePair<string, string>>> SplitXfcc(string header)
    {
        var elements = new List<List<KeyValuePair<string, string>>>();
        var pairs = new List<KeyValuePair<string, string>>();
        var token = new System.Text.StringBuilder();
        string? key = null;
        bool quoted = false;
        for (int i = 0; i <= header.Length; i++)
        {
            char c = i < header.Length ? header[i] : ',';
            if (quoted)
            {
                if (c == '\\' && i + 1 < header.Length && header[i + 1] == '"')
                {
                    token.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else if (i == header.Length)
                {
                    throw new FormatException("unbalanced quote");
                }
                else
                {
                    token.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == '=' && key is null)
            {
                key = token.ToString().Trim();
                token.Clear();
            }
            else if (c is ';' or ',')
            {
                if (key is null)
                {
                    if (token.ToString().Trim().Length > 0)
                    {
                        throw new FormatException("pair without '='");
                    }
                }
                else
                {
                    pairs.Add(new(key, token.ToString().Trim()));
                }

                key = null;
                token.Clear();
                if (c == ',')
                {
                    elements.Add(pairs);
                    pairs = [];
                }
            }
            else
            {
                token.Append(c);
            }
        }

        if (quoted)
        {
            throw new FormatException("unbalanced quote");
        }

        return elements;
    }

    /// <summary>nginx <c>$ssl_client_escaped_cert</c>: URL-encoded PEM of the leaf; empty or <c>-</c> when none.</summary>
    private static ForwardedCertificateResult ParseNginx(string header)
    {
        if (header is "-")
        {
            return ForwardedCertificateResult.Fail(ForwardedCertificateFailures.Missing);
        }

        return new ForwardedCertificateResult(LoadSinglePem(Uri.UnescapeDataString(header)), null, null);
    }

    /// <summary>
    /// Exactly one PEM <c>CERTIFICATE</c> and nothing else but whitespace around it. <c>CreateFromPem</c> would take
    /// the first well-formed block and skip the rest: with two header values (joined by ',') or text around the PEM,
    /// the certificate used would depend on which value happens to parse, and the first may be the client's own.
    /// </summary>
    private static X509Certificate2 LoadSinglePem(string pem)
    {
        ReadOnlySpan<char> text = pem.AsSpan().Trim();
        PemFields fields = PemEncoding.Find(text);
        if (fields.Location.Start.Value != 0 || fields.Location.End.Value != text.Length || !text[fields.Label].SequenceEqual("CERTIFICATE"))
        {
            throw new FormatException("not exactly one PEM certificate");
        }

        return X509CertificateLoader.LoadCertificate(Convert.FromBase64String(text[fields.Base64Data].ToString()));
    }
}
