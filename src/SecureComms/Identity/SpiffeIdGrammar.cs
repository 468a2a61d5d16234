namespace SecureComms;

/// <summary>
/// The character rules and error texts of the SPIFFE ID specification (SPIFFE-ID §2), shared by
/// <see cref="TrustDomain"/> and <see cref="SpiffeId"/> so both report the same precise reasons.
/// </summary>
internal static class SpiffeIdGrammar
{
    internal const string Scheme = "spiffe://";
    internal const int MaxTrustDomainLength = 255; // SPIFFE-ID §2.1
    internal const int MaxIdLength = 2048;         // SPIFFE-ID §2.3 (URI length limit)

    internal const string Empty = "SPIFFE ID is empty.";
    internal const string WrongScheme = "the scheme must be 'spiffe' and be followed by '://' (lowercase, e.g. spiffe://example.org/service).";
    internal const string MissingTrustDomain = "the trust domain is missing.";
    internal const string TrustDomainTooLong = "the trust domain is longer than 255 bytes.";
    internal const string IdTooLong = "the SPIFFE ID is longer than 2048 bytes.";
    internal const string UserInfo = "userinfo ('@') is not allowed in a SPIFFE ID.";
    internal const string Port = "a port (':') is not allowed in a SPIFFE ID.";
    internal const string Query = "a query ('?') is not allowed in a SPIFFE ID.";
    internal const string Fragment = "a fragment ('#') is not allowed in a SPIFFE ID.";
    internal const string PercentEncoding = "percent-encoding ('%') is not allowed in a SPIFFE ID.";
    internal const string TrustDomainCharacters = "trust domain characters are limited to lowercase letters, digits, '.', '-' and '_'.";
    internal const string PathCharacters = "path segment characters are limited to letters, digits, '.', '-' and '_'.";
    internal const string EmptySegment = "the path cannot contain empty segments ('//').";
    internal const string DotSegment = "the path cannot contain '.' or '..' segments.";
    internal const string TrailingSlash = "the path cannot end with '/'.";
    internal const string PathMustStartWithSlash = "the path must be empty or start with '/'.";

    internal static bool IsTrustDomainChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_';

    internal static bool IsPathChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_';

    /// <summary>Explains why <paramref name="c"/> cannot appear where a trust domain character was expected.</summary>
    internal static string ExplainTrustDomainChar(char c) => c switch
    {
        '@' => UserInfo,
        ':' => Port,
        '?' => Query,
        '#' => Fragment,
        '%' => PercentEncoding,
        _ => TrustDomainCharacters,
    };

    /// <summary>Explains why <paramref name="c"/> cannot appear in a path segment.</summary>
    internal static string ExplainPathChar(char c) => c switch
    {
        '?' => Query,
        '#' => Fragment,
        '%' => PercentEncoding,
        '@' => UserInfo,
        _ => PathCharacters,
    };

    /// <summary>Validates a trust domain name (no scheme).</summary>
    internal static string? ValidateTrustDomain(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return MissingTrustDomain;
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

    /// <summary>Validates a path: empty, or '/'-separated segments (SPIFFE-ID §2.2).</summary>
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
}
