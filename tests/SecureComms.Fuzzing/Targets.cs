using System.Reflection;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SecureComms.Fuzzing;

/// <summary>
/// One parser that sees attacker bytes. <see cref="Run"/> returns null when the parser behaved, or what it got wrong
/// (an oracle); any exception not in <see cref="DocumentedExceptions"/> is a finding too.
/// </summary>
internal sealed record FuzzTarget(string Name, Func<byte[], string?> Run, Type[] DocumentedExceptions, string[] Tokens);

internal static class Targets
{
    private delegate bool BearerReader(string? header, out ReadOnlySpan<char> token);

    private static readonly TrustDomain ExampleOrg = TrustDomain.Parse("example.org");

    // The handler's own RFC 6750 §2.1 reader, private to it: reached by reflection so the fuzzer runs the shipped code.
    private static readonly BearerReader ReadBearer = typeof(SecureCommsAuthenticationHandler)
        .GetMethod("TryGetBearerToken", BindingFlags.NonPublic | BindingFlags.Static)!
        .CreateDelegate<BearerReader>();

    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("spiffe-id", SpiffeIdRoundTrips, [], ["spiffe://", "example.org", "/", "%", ":443", "@", ".."]),
        new("trust-domain", TrustDomainRoundTrips, [], ["spiffe://", ".", "-", "_", "xn--"]),
        new("pem", ReadPem, [], ["-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", "-----BEGIN PRIVATE KEY-----\n", "-----END PRIVATE KEY-----", "MII", "=="]),
        // Documented: TrustBundleException for any bundle it refuses (TrustBundleLoader.ParseSpiffeBundle).
        new("spiffe-bundle", ParseSpiffeBundle, [typeof(TrustBundleException)], ["\"keys\"", "\"x5c\"", "\"use\":\"x509-svid\"", "\"kty\":\"RSA\"", "\"spiffe_sequence\":", "-1", "1e400", "null", "[]", "{}", "\\u0000", "\\ud800"]),
        new("forwarded-rfc9440", input => ParseForwarded(ForwardedCertificateFormat.ClientCertHeader, input), [], [":", ";", ",", "\n", "=", "MII"]),
        new("forwarded-xfcc", input => ParseForwarded(ForwardedCertificateFormat.EnvoyXfcc, input), [], ["Hash=", "Cert=", "Chain=", "By=", "URI=", "\"", ";", ",", "%0A", "%2B", "%22"]),
        new("forwarded-nginx", input => ParseForwarded(ForwardedCertificateFormat.NginxEscapedPem, input), [], ["-----BEGIN%20CERTIFICATE-----%0A", "%0A", "%2B", "%2F", "%3D", "+", "%"]),
        new("authorization-bearer", ReadBearerToken, [], ["Bearer ", "bearer", " ", "\t", "\u00a0", "Basic "]),
        new("jwt-cnf", ReadCnf, [], ["\"cnf\"", "\"x5t#S256\"", "{", "}", "[", "]", "\"", "\\u", "\\ud800", "null", "1"]),
        new("jwt-scope", CheckScope, [], [" ", "\t", "orders.read", "orders.write", "\u00a0"]),
        new("path-pattern", ParsePathPattern, [], ["/", "*", "**", "{", "}", "{**", ":int", "//", "."]),
        new("path-canonical", CanonicalizeTwice, [], ["/", "//", "%2F", "%2f", "%5C", ".", "..", "\\", "\0", "%"]),
    ];

    /// <summary>A SPIFFE ID accepted must print as text that parses back to the same ID; a refused one, Parse refuses with FormatException.</summary>
    private static string? SpiffeIdRoundTrips(byte[] input)
    {
        string text = Mutator.Decode(input);
        if (!SpiffeId.TryParse(text, out SpiffeId id, out _))
        {
            try
            {
                SpiffeId.Parse(text);
                return "TryParse refused what Parse accepted";
            }
            catch (FormatException)
            {
                return null;
            }
        }

        string printed = id.ToString();
        return SpiffeId.TryParse(printed, out SpiffeId again) && again == id && again.ToString() == printed
            ? null
            : $"accepted, but its text '{printed}' does not parse back to the same ID";
    }

    private static string? TrustDomainRoundTrips(byte[] input)
    {
        string text = Mutator.Decode(input);
        if (!TrustDomain.TryParse(text, out TrustDomain domain, out _))
        {
            return null;
        }

        string printed = domain.ToString();
        return TrustDomain.TryParse(printed, out TrustDomain again) && again == domain && again.ToString() == printed
            ? null
            : $"accepted, but its text '{printed}' does not parse back to the same trust domain";
    }

    private static string? ReadPem(byte[] input)
    {
        string text = Mutator.Decode(input);
        if (PemReader.TryReadCertificates(text, out X509Certificate2Collection certificates, out string? error))
        {
            if (error is not null)
            {
                return "accepted with an error";
            }
        }
        else if (error is null)
        {
            return "refused without an error";
        }

        foreach (X509Certificate2 certificate in certificates)
        {
            certificate.Dispose();
        }

        if (PemReader.TryFindPrivateKey(text, out Range block, out _, out _))
        {
            (int offset, int length) = block.GetOffsetAndLength(text.Length); // out of range throws: a finding
            _ = offset + length;
        }

        return null;
    }

    private static string? ParseSpiffeBundle(byte[] input)
    {
        TrustBundle bundle = TrustBundleLoader.ParseSpiffeBundle(ExampleOrg, input);
        foreach (X509Certificate2 authority in bundle.Authorities)
        {
            if (authority.RawData.Length == 0)
            {
                return "accepted an empty authority";
            }
        }

        return null;
    }

    /// <summary>
    /// The parser never throws; a certificate it accepts must be bytes the header carries (its base64 present once the
    /// header is percent-decoded and stripped of whitespace), so a changed certificate never reads as another.
    /// </summary>
    private static string? ParseForwarded(ForwardedCertificateFormat format, byte[] input)
    {
        string text = Mutator.Decode(input);
        string header = text;
        string? chain = null;
        if (format == ForwardedCertificateFormat.ClientCertHeader && text.IndexOf('\n', StringComparison.Ordinal) is int newline and >= 0)
        {
            header = text[..newline];
            chain = text[(newline + 1)..];
        }

        ForwardedCertificateResult result = ForwardedCertificateParser.Parse(format, header, chain);
        if (result.Certificate is null)
        {
            return result.Failure is null ? "no certificate and no failure reason" : null;
        }

        try
        {
            if (result.Failure is not null)
            {
                return "a certificate and a failure reason";
            }

            // Base64 and PEM decoders skip white space, nginx may turn '+' into a space, and XFCC values join quoted
            // runs ('Cert="a"b' is 'ab').
            string decoded = format switch
            {
                ForwardedCertificateFormat.ClientCertHeader => header,
                ForwardedCertificateFormat.EnvoyXfcc => Uri.UnescapeDataString(header.Replace("\\\"", string.Empty, StringComparison.Ordinal).Replace("\"", string.Empty, StringComparison.Ordinal)),
                _ => Uri.UnescapeDataString(header),
            };
            string base64 = Convert.ToBase64String(result.Certificate.RawData)[..^4]; // the last quantum may differ in unused bits
            return StripWhitespace(decoded).Contains(base64, StringComparison.Ordinal) || StripWhitespace(decoded.Replace(' ', '+')).Contains(base64, StringComparison.Ordinal)
                ? null
                : "accepted a certificate whose bytes the header does not carry";
        }
        finally
        {
            result.Certificate.Dispose();
            if (result.Chain is not null)
            {
                foreach (X509Certificate2 member in result.Chain)
                {
                    member.Dispose();
                }
            }
        }
    }

    private static string StripWhitespace(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (!char.IsWhiteSpace(c))
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>A token read from <c>Authorization</c> is non-empty, trimmed, and what follows <c>Bearer </c>.</summary>
    private static string? ReadBearerToken(byte[] input)
    {
        string header = Mutator.Decode(input);
        if (!ReadBearer(header, out ReadOnlySpan<char> token))
        {
            return null;
        }

        if (token.IsEmpty || !token.SequenceEqual(token.Trim()))
        {
            return "accepted an empty or untrimmed token";
        }

        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.AsSpan(7).Trim().SequenceEqual(token)
            ? null
            : "accepted a token that is not what follows 'Bearer '";
    }

    /// <summary>The payload reader and the claim reader never throw; a thumbprint read is a string the payload holds.</summary>
    private static string? ReadCnf(byte[] input)
    {
        if (CertificateBinding.TryReadFromPayload(input, out string? thumbprint) && thumbprint is not null && thumbprint.Length > input.Length)
        {
            return "read a thumbprint longer than the payload";
        }

        _ = CertificateBinding.TryReadThumbprint(Mutator.Decode(input), out _);
        return null;
    }

    /// <summary><c>scope</c> is space-separated (RFC 9068 §2.2.3): a scope is granted exactly when it is one of the parts.</summary>
    private static string? CheckScope(byte[] input)
    {
        string claim = Mutator.Decode(input);
        var user = new ClaimsPrincipal(new ClaimsIdentity([new Claim("scope", claim)], "fuzz"));
        string[] parts = claim.Split(' ');
        foreach (string scope in (string[])[parts[0], parts[^1], "orders.read", "orders"])
        {
            if (ScopeRequirement.HasScope(user, scope) != (scope.Length > 0 && Array.IndexOf(parts, scope) >= 0) && scope.Length > 0)
            {
                return $"scope '{scope}' granted or refused against the space-separated list";
            }
        }

        return null;
    }

    /// <summary>A pattern accepted prints as a pattern that parses to the same text; matching never throws.</summary>
    private static string? ParsePathPattern(byte[] input)
    {
        string text = Mutator.Decode(input);
        if (!PathPattern.TryParse(text, out PathPattern? pattern, out string? error))
        {
            return error is null ? "refused without an error" : null;
        }

        string printed = pattern.ToString();
        if (!PathPattern.TryParse(printed, out PathPattern? again, out _) || again.ToString() != printed)
        {
            return $"accepted, but its text '{printed}' does not parse back to the same pattern";
        }

        _ = pattern.IsMatch("/");
        _ = pattern.IsMatch("/orders/1");
        if (PathCanonicalizer.TryCanonicalize(text, out string canonical))
        {
            _ = pattern.IsMatch(canonical);
        }

        return null;
    }

    /// <summary>A path accepted is canonical after one pass: canonicalising it again changes nothing.</summary>
    private static string? CanonicalizeTwice(byte[] input)
    {
        string path = Mutator.Decode(input);
        if (!PathCanonicalizer.TryCanonicalize(path, out string canonical))
        {
            return null;
        }

        return PathCanonicalizer.TryCanonicalize(canonical, out string again) && again == canonical
            ? null
            : $"'{canonical}' is not a fixed point: canonicalising it again gives something else";
    }
}
