using System.Diagnostics.CodeAnalysis;

namespace SecureComms;

/// <summary>
/// A path pattern of the central policy, matched case-insensitively (as ASP.NET Core routing matches) on segment
/// boundaries: exact <c>/a/b</c>; prefix <c>/a/*</c> (<c>/a</c> and everything below, never <c>/ab</c>); suffix
/// <c>*/health</c> (any path ending in those segments); and single-segment wildcards <c>/tenants/*/invoices</c>
/// (each <c>*</c> is exactly one segment).
/// </summary>
internal sealed class PathPattern
{
    private readonly Kind _kind;
    private readonly string _text;
    private readonly string[] _segments;

    private PathPattern(Kind kind, string text, string[] segments)
    {
        _kind = kind;
        _text = text;
        _segments = segments;
    }

    private enum Kind
    {
        Exact,
        Prefix,
        Suffix,
        Wildcard,
    }

    internal static bool TryParse(string? pattern, [NotNullWhen(true)] out PathPattern? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (string.IsNullOrEmpty(pattern))
        {
            error = "a path pattern is empty.";
            return false;
        }

        if (pattern.StartsWith("*/", StringComparison.Ordinal))
        {
            string suffix = pattern[1..];
            if (suffix.Length < 2 || suffix.Contains('*', StringComparison.Ordinal))
            {
                error = "a suffix pattern is '*/' followed by literal segments, e.g. '*/health'.";
                return false;
            }

            result = new PathPattern(Kind.Suffix, suffix.TrimEnd('/'), []);
            error = null;
            return true;
        }

        if (pattern[0] != '/')
        {
            error = "a path pattern starts with '/' (or '*/' for a suffix).";
            return false;
        }

        if (pattern.Contains("//", StringComparison.Ordinal) || pattern.Contains("/./", StringComparison.Ordinal) || pattern.Contains("/../", StringComparison.Ordinal))
        {
            error = "a path pattern must be canonical (no '//', '.' or '..' segments).";
            return false;
        }

        if (pattern == "/*")
        {
            result = new PathPattern(Kind.Prefix, string.Empty, []);
        }
        else if (pattern.EndsWith("/*", StringComparison.Ordinal) && !pattern[..^2].Contains('*', StringComparison.Ordinal))
        {
            result = new PathPattern(Kind.Prefix, pattern[..^2], []);
        }
        else if (pattern.Contains('*', StringComparison.Ordinal))
        {
            string[] segments = pattern[1..].Split('/');
            foreach (string segment in segments)
            {
                if (segment.Contains('*', StringComparison.Ordinal) && segment != "*")
                {
                    error = "'*' stands for one whole segment ('/tenants/*/invoices'), or ends a prefix ('/invoices/*').";
                    return false;
                }
            }

            result = new PathPattern(Kind.Wildcard, pattern, segments);
        }
        else
        {
            result = new PathPattern(Kind.Exact, pattern.Length > 1 ? pattern.TrimEnd('/') : pattern, []);
        }

        error = null;
        return true;
    }

    /// <summary>Matches a canonical path (see <see cref="PathCanonicalizer"/>).</summary>
    internal bool IsMatch(string path)
    {
        switch (_kind)
        {
            case Kind.Exact:
                return string.Equals(path, _text, StringComparison.OrdinalIgnoreCase);
            case Kind.Prefix:
                return path.StartsWith(_text, StringComparison.OrdinalIgnoreCase)
                    && (path.Length == _text.Length || path[_text.Length] == '/');
            case Kind.Suffix:
                return path.EndsWith(_text, StringComparison.OrdinalIgnoreCase);
            default:
                ReadOnlySpan<char> rest = path.AsSpan(1);
                foreach (string segment in _segments)
                {
                    if (rest.IsEmpty && segment.Length > 0)
                    {
                        return false;
                    }

                    int slash = rest.IndexOf('/');
                    ReadOnlySpan<char> current = slash < 0 ? rest : rest[..slash];
                    if (segment != "*" && !current.Equals(segment, StringComparison.OrdinalIgnoreCase))
                    {
                        return false;
                    }

                    if (segment == "*" && current.IsEmpty)
                    {
                        return false;
                    }

                    rest = slash < 0 ? [] : rest[(slash + 1)..];
                }

                return rest.IsEmpty;
        }
    }

    public override string ToString() => _kind switch
    {
        Kind.Prefix => _text + "/*",
        Kind.Suffix => "*" + _text,
        _ => _text,
    };
}
