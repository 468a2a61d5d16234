namespace SecureComms.DevCert;

/// <summary>
/// An ASP.NET Core route template (<c>/orders/{id}</c>, <c>/files/{**rest}</c>) as far as a path pattern can express
/// it: literal segments, one-segment parameters and a trailing catch-all.
/// </summary>
internal sealed class RouteTemplate
{
    private readonly string[] _segments;

    private RouteTemplate(string text, string[] segments, string pattern)
    {
        Text = text;
        _segments = segments;
        Pattern = pattern;
        LiteralSegments = segments.Count(s => !IsParameter(s));
    }

    /// <summary>The template as logged or given.</summary>
    public string Text { get; }

    /// <summary>
    /// The path pattern: the template itself, each parameter segment written <c>{name}</c> (exactly one segment, as the
    /// policy reads it); a last catch-all or optional parameter after literal segments only makes a prefix
    /// (<c>/files/*</c>).
    /// </summary>
    public string Pattern { get; }

    /// <summary>Literal segments, to prefer the most specific template.</summary>
    public int LiteralSegments { get; }

    /// <summary>
    /// The template, or null for text that is none (<c>(no route)</c>, a catch-all before the end) or that the policy
    /// cannot express without widening it (a catch-all or optional last parameter after another parameter).
    /// </summary>
    public static RouteTemplate? TryParse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0 || text.Contains(' ', StringComparison.Ordinal) || text.StartsWith('('))
        {
            return null;
        }

        string[] segments = text.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < segments.Length; i++)
        {
            if (IsCatchAll(segments[i]) && i != segments.Length - 1)
            {
                return null;
            }

            if (segments[i].Contains('{', StringComparison.Ordinal) != segments[i].Contains('}', StringComparison.Ordinal))
            {
                return null;
            }
        }

        var parts = new List<string>(segments.Length);
        string? pattern = null;
        for (int i = 0; i < segments.Length; i++)
        {
            string segment = segments[i];
            if (IsCatchAll(segment) || i == segments.Length - 1 && segment.EndsWith("?}", StringComparison.Ordinal))
            {
                if (parts.Exists(p => p[0] == '{'))
                {
                    return null;
                }

                pattern = "/" + string.Join('/', parts.Append("*"));
                break;
            }

            parts.Add(IsParameter(segment) ? "{" + ParameterName(segment) + "}" : segment);
        }

        pattern ??= "/" + string.Join('/', parts);
        return new RouteTemplate(text, segments, pattern);
    }

    /// <summary>Whether a canonical concrete path is one of this template's paths.</summary>
    public bool Matches(string path)
    {
        string[] segments = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < _segments.Length; i++)
        {
            string segment = _segments[i];
            if (IsCatchAll(segment))
            {
                return true;
            }

            if (i >= segments.Length)
            {
                // An optional last parameter ({id?}) may be absent.
                return i == _segments.Length - 1 && segment.EndsWith("?}", StringComparison.Ordinal);
            }

            if (!IsParameter(segment) && !string.Equals(segment, segments[i], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return segments.Length == _segments.Length;
    }

    private static bool IsParameter(string segment) => segment.Contains('{', StringComparison.Ordinal);

    // {id:int} -> id; v{version} -> version.
    private static string ParameterName(string segment)
    {
        int start = segment.IndexOf('{', StringComparison.Ordinal) + 1;
        int end = segment.IndexOfAny([':', '=', '?', '}'], start);
        return segment[start..(end < 0 ? segment.Length : end)];
    }

    private static bool IsCatchAll(string segment) => segment.StartsWith("{*", StringComparison.Ordinal);
}
