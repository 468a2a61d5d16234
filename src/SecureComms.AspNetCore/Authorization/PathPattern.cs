using System.Diagnostics.CodeAnalysis;

namespace SecureComms;

/// <summary>
/// A path pattern of the central policy, matched case-insensitively (as ASP.NET Core routing matches) on segment
/// boundaries: exact <c>/a/b</c>; prefix <c>/a/*</c> (<c>/a</c> and everything below, never <c>/ab</c>); suffix
/// <c>*/health</c> (any path ending in those segments); single-segment wildcards <c>/tenants/*/invoices</c>
/// (each <c>*</c> is exactly one segment); and route-template parameters as routing writes them: <c>/orders/{id}</c>
/// (each <c>{…}</c> is exactly one segment, whatever its constraint, so <c>/orders/{id}</c> is neither <c>/orders</c>
/// nor <c>/orders/1/items</c>) and a last catch-all <c>/files/{**path}</c> (the prefix <c>/files/*</c>).
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

        if (pattern.Contains('{', StringComparison.Ordinal) || pattern.Contains('}', StringComparison.Ordinal))
        {
            return TryParseTemplate(pattern, out result, out error);
        }

        if (pattern.StartsWith("*/", StringComparison.Ordinal))
        {
            // Trailing slashes are dropped; what is left must still name a segment ('*//' would match every path).
            string suffix = pattern[1..].TrimEnd('/');
            if (suffix.Length < 2 || suffix.Contains('*', StringComparison.Ordinal))
            {
                error = "a suffix pattern is '*/' followed by literal segments, e.g. '*/health'.";
                return false;
            }

            result = new PathPattern(Kind.Suffix, suffix, []);
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

    // A pattern written as a route template: literal segments, whole-segment parameters ({id}, {id:int}) and a last
    // catch-all ({*path}, {**path}). Optional parameters and parameters inside a segment (v{version}) are refused: the
    // policy could only widen them, and a policy must not be wider than it reads.
    private static bool TryParseTemplate(string pattern, [NotNullWhen(true)] out PathPattern? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (pattern[0] != '/' || pattern.Contains("//", StringComparison.Ordinal) || pattern.Contains('*', StringComparison.Ordinal) && !pattern.Contains("{*", StringComparison.Ordinal))
        {
            error = "a route-template pattern starts with '/' and uses '{name}' for one segment, '{**name}' as its last segment for everything below (no '*' or '//').";
            return false;
        }

        string[] segments = pattern[1..].Split('/');
        var shape = new string[segments.Length];
        for (int i = 0; i < segments.Length; i++)
        {
            string segment = segments[i];
            bool whole = segment.Length > 2 && segment[0] == '{' && segment[^1] == '}' && segment.IndexOf('{', 1) < 0 && segment.IndexOf('}') == segment.Length - 1;
            if (!whole)
            {
                if (segment.Contains('{', StringComparison.Ordinal) || segment.Contains('}', StringComparison.Ordinal) || segment.Contains('*', StringComparison.Ordinal) || segment is "." or "..")
                {
                    error = $"segment '{segment}': a parameter is a whole segment ('/orders/{{id}}'); a catch-all ('{{**path}}') ends the pattern.";
                    return false;
                }

                shape[i] = segment;
                continue;
            }

            if (segment[1] == '*')
            {
                if (i != segments.Length - 1 || Array.IndexOf(shape, "*", 0, i) >= 0)
                {
                    error = $"segment '{segment}': a catch-all parameter is the pattern's last segment, after literal segments only ('/files/{{**path}}').";
                    return false;
                }

                string below = i == 0 ? string.Empty : "/" + string.Join('/', shape[..i]);
                result = new PathPattern(Kind.Prefix, below, []);
                error = null;
                return true;
            }

            if (segment.EndsWith("?}", StringComparison.Ordinal) || segment.Contains('=', StringComparison.Ordinal))
            {
                error = $"segment '{segment}': an optional or defaulted parameter may be absent; list both paths ('/orders' and '/orders/{{id}}').";
                return false;
            }

            shape[i] = "*";
        }

        result = new PathPattern(Kind.Wildcard, pattern, shape);
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
