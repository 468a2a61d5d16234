using System.Globalization;
using System.Text;

namespace SecureComms;

/// <summary>
/// The character rules and error texts of the SPIFFE ID specification (SPIFFE-ID §2), shared by
/// <see cref="TrustDomain"/>, <see cref="SpiffeId"/> and <see cref="SpiffeIdAuthorizer"/> so all report the same
/// precise reasons. Every error text is a constant: refusing hostile input allocates nothing.
/// </summary>
internal static class SpiffeIdGrammar
{
    internal const string Scheme = "spiffe://";
    internal const int MaxTrustDomainLength = 255; // SPIFFE-ID §2.3 (RFC 3986 host limit)
    internal const int MaxIdLength = 2048;         // SPIFFE-ID §2.3

    internal const string Empty = "the SPIFFE ID is empty.";
    internal const string WrongScheme = "the scheme is missing or invalid: a SPIFFE ID starts with 'spiffe://' (e.g. spiffe://example.org/service).";
    internal const string UppercaseScheme = "the scheme must be lowercase 'spiffe://'.";
    internal const string MissingTrustDomain = "the trust domain is missing.";
    internal const string TrustDomainTooLong = "the trust domain is longer than 255 bytes.";
    internal const string IdTooLong = "the SPIFFE ID is longer than 2048 bytes.";
    internal const string UserInfo = "userinfo ('user@') is not allowed in the trust domain.";
    internal const string Port = "a port (':') is not allowed in the trust domain.";
    internal const string IpLiteral = "an IP-literal ('[...]', e.g. an IPv6 address) is not allowed as a trust domain.";
    internal const string Query = "a query ('?') is not allowed in a SPIFFE ID.";
    internal const string Fragment = "a fragment ('#') is not allowed in a SPIFFE ID.";
    internal const string PercentEncoding = "percent-encoding ('%') is not allowed in a SPIFFE ID.";
    internal const string UppercaseTrustDomain = "the trust domain must be lowercase (no uppercase letters).";
    internal const string TrustDomainCharacters = "trust domain characters are limited to lowercase letters, digits, '.', '-' and '_'.";
    internal const string PathCharacters = "path segment characters are limited to letters, digits, '.', '-' and '_'.";
    internal const string EmptySegment = "the path cannot contain empty segments ('//').";
    internal const string DotSegment = "the path cannot contain dot segments ('.' or '..').";
    internal const string TrailingSlash = "the path cannot have a trailing '/'.";
    internal const string PathMustStartWithSlash = "the path must be empty or start with '/'.";

    private const int MaxEchoedLength = 120;

    // SPIFFE-ID §2.1: [a-z0-9.-_]
    internal static bool IsTrustDomainChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_';

    // SPIFFE-ID §2.2: [a-zA-Z0-9.-_]
    internal static bool IsPathChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_';

    /// <summary>Explains why <paramref name="c"/> cannot appear in a trust domain name.</summary>
    private static string ExplainTrustDomainChar(char c) => c switch
    {
        '%' => PercentEncoding,  // SPIFFE-ID §2.1
        '?' => Query,            // SPIFFE-ID §2
        '#' => Fragment,         // SPIFFE-ID §2
        >= 'A' and <= 'Z' => UppercaseTrustDomain, // SPIFFE-ID §2.1
        _ => TrustDomainCharacters,
    };

    /// <summary>Explains why <paramref name="c"/> cannot appear in a path segment.</summary>
    private static string ExplainPathChar(char c) => c switch
    {
        '%' => PercentEncoding,  // SPIFFE-ID §2.2
        '?' => Query,            // SPIFFE-ID §2
        '#' => Fragment,         // SPIFFE-ID §2
        _ => PathCharacters,
    };

    /// <summary>
    /// Validates a trust domain name, or the authority of a SPIFFE ID (SPIFFE-ID §2.1): not empty, no userinfo, no
    /// port, not an IP-literal, at most 255 bytes, only <c>[a-z0-9._-]</c>, no percent-encoding.
    /// </summary>
    /// <returns><see langword="null"/> when valid, otherwise the reason.</returns>
    internal static string? ValidateTrustDomain(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return MissingTrustDomain;
        }

        // Structure first, so 'user:pass@host' is reported as userinfo rather than as a port.
        if (name.Contains('@'))
        {
            return UserInfo;
        }

        if (name[0] == '[')
        {
            return IpLiteral;
        }

        if (name.Contains(':'))
        {
            return Port;
        }

        if (name.Length > MaxTrustDomainLength)
        {
            return TrustDomainTooLong;
        }

        foreach (char c in name)
        {
            if (!IsTrustDomainChar(c))
            {
                return ExplainTrustDomainChar(c);
            }
        }

        return null;
    }

    /// <summary>
    /// Validates a path (SPIFFE-ID §2.2): empty, or <c>/</c>-separated segments of <c>[a-zA-Z0-9._-]</c>, none empty,
    /// <c>.</c> or <c>..</c>, and no trailing <c>/</c>.
    /// </summary>
    /// <returns><see langword="null"/> when valid, otherwise the reason.</returns>
    internal static string? ValidatePath(ReadOnlySpan<char> path)
    {
        if (path.IsEmpty)
        {
            return null;
        }

        if (path[0] != '/')
        {
            return PathMustStartWithSlash;
        }

        int segmentStart = 1;
        for (int i = 1; i <= path.Length; i++)
        {
            if (i < path.Length && path[i] != '/')
            {
                if (!IsPathChar(path[i]))
                {
                    return ExplainPathChar(path[i]);
                }

                continue;
            }

            ReadOnlySpan<char> segment = path[segmentStart..i];
            if (segment.IsEmpty)
            {
                return i == path.Length ? TrailingSlash : EmptySegment;
            }

            if (segment is "." or "..")
            {
                return DotSegment;
            }

            segmentStart = i + 1;
        }

        return null;
    }

    /// <summary>
    /// Renders untrusted text for an exception message: quoted, at most 120 characters, and with every character
    /// outside printable ASCII escaped (<c>\u000A</c>), so a hostile value cannot forge log lines.
    /// </summary>
    internal static string Echo(string? value)
    {
        if (value is null)
        {
            return "(null)";
        }

        var builder = new StringBuilder(Math.Min(value.Length, MaxEchoedLength) + 8);
        builder.Append('\'');
        int shown = Math.Min(value.Length, MaxEchoedLength);
        for (int i = 0; i < shown; i++)
        {
            char c = value[i];
            if (c is >= ' ' and <= '~')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
        }

        builder.Append('\'');
        if (value.Length > MaxEchoedLength)
        {
            builder.Append(CultureInfo.InvariantCulture, $" (truncated, {value.Length} characters)");
        }

        return builder.ToString();
    }
}
