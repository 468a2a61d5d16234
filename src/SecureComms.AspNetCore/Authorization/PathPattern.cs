using System.Diagnostics.CodeAnalysis;

namespace SecureComms;

/// <summary>An exact path or a prefix on segment boundaries (<c>/a/*</c> matches <c>/a</c> and <c>/a/b</c>, never <c>/ab</c>).</summary>
internal sealed class PathPattern
{
    private readonly string _path;
    private readonly bool _isPrefix;

    private PathPattern(string path, bool isPrefix)
    {
        _path = path;
        _isPrefix = isPrefix;
    }

    internal static bool TryParse(string? pattern, [NotNullWhen(true)] out PathPattern? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (string.IsNullOrEmpty(pattern) || pattern[0] != '/')
        {
            error = "a path pattern starts with '/'.";
            return false;
        }

        if (pattern == "/*")
        {
            result = new PathPattern(string.Empty, isPrefix: true);
        }
        else if (pattern.EndsWith("/*", StringComparison.Ordinal))
        {
            result = new PathPattern(pattern[..^2], isPrefix: true);
        }
        else if (pattern.Contains('*', StringComparison.Ordinal))
        {
            error = "'*' is only allowed as a whole last segment ('/orders/*').";
            return false;
        }
        else
        {
            result = new PathPattern(pattern.Length > 1 ? pattern.TrimEnd('/') : pattern, isPrefix: false);
        }

        error = null;
        return true;
    }

    internal bool IsMatch(string path)
    {
        if (!_isPrefix)
        {
            return string.Equals(path, _path, StringComparison.OrdinalIgnoreCase);
        }

        return path.StartsWith(_path, StringComparison.OrdinalIgnoreCase)
            && (path.Length == _path.Length || path[_path.Length] == '/');
    }

    public override string ToString() => _isPrefix ? _path + "/*" : _path;
}
