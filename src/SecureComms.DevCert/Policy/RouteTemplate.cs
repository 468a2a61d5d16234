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
    /// The path pattern: each parameter segment a <c>*</c>; a last parameter or a catch-all makes a prefix
    /// (<c>/orders/*</c>), the only way the policy has to say "one more segment" at the end.
    /// </summary>
    public string Pattern { get; }

    /// <summary>Literal segments, to prefer the most specific template.</summary>
    public int LiteralSegments { get; }

    /// <summary>The template, or null for text that is none (<c>(no route)</c>, a catch-all before the end).</summary>
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

        string[] parts = [.. segments.Select(s => IsParameter(s) ? "*" : s)];
        string pattern = segments.Length == 0
            ? "/"
            : IsParameter(segments[^1])
                ? "/" + string.Join('/', parts[..^1].Append("*"))
                : "/" + string.Join('/', parts);
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

    private static bool IsCatchAll(string segment) => segment.StartsWith("{*", StringComparison.Ordinal);
}
