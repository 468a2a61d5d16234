namespace SecureComms;

/// <summary>
/// Puts a request path in the one form policy rules are matched against, and refuses paths whose meaning is
/// ambiguous: an encoded slash or backslash (<c>%2F</c>, <c>%5C</c>), a backslash, a NUL, or a dot segment. Repeated
/// slashes are collapsed and a trailing slash dropped. (ASP.NET Core has already decoded the other <c>%xx</c>.)
/// </summary>
internal static class PathCanonicalizer
{
    internal static bool TryCanonicalize(string path, out string canonical)
    {
        canonical = path;
        if (path.Length == 0)
        {
            canonical = "/";
            return true;
        }

        bool needsRewrite = false;
        for (int i = 0; i < path.Length; i++)
        {
            char c = path[i];
            if (c is '\\' or '\0')
            {
                return false;
            }

            if (c == '%' && i + 2 < path.Length
                && ((path[i + 1] == '2' && path[i + 2] is 'F' or 'f') || (path[i + 1] == '5' && path[i + 2] is 'C' or 'c')))
            {
                return false; // %2F, %2f, %5C, %5c: an encoded separator
            }

            if (c == '/' && i + 1 < path.Length && path[i + 1] == '/')
            {
                needsRewrite = true;
            }

            if (c == '.' && (i == 0 || path[i - 1] == '/') && (i + 1 == path.Length || path[i + 1] == '/' || (path[i + 1] == '.' && (i + 2 == path.Length || path[i + 2] == '/'))))
            {
                return false; // a '.' or '..' segment
            }
        }

        if (needsRewrite)
        {
            var builder = new System.Text.StringBuilder(path.Length);
            foreach (char c in path)
            {
                if (c != '/' || builder.Length == 0 || builder[^1] != '/')
                {
                    builder.Append(c);
                }
            }

            canonical = builder.ToString();
        }

        if (canonical.Length > 1 && canonical[^1] == '/')
        {
            canonical = canonical[..^1];
        }

        return true;
    }
}
