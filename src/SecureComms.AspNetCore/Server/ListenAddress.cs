using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace SecureComms;

/// <summary>A parsed listener address: scheme, host kind and port.</summary>
internal readonly record struct ListenAddress(bool IsHttps, IPAddress? Address, bool IsLocalhost, int Port)
{
    internal static bool TryParse(string url, out ListenAddress address, [NotNullWhen(false)] out string? error)
    {
        address = default;
        int schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            error = "it is not an absolute URL such as https://0.0.0.0:8443.";
            return false;
        }

        string scheme = url[..schemeEnd].ToLowerInvariant();
        if (scheme is not ("http" or "https"))
        {
            error = $"the scheme '{scheme}' is neither https nor http.";
            return false;
        }

        string rest = url[(schemeEnd + 3)..].TrimEnd('/');
        int colon = rest.LastIndexOf(':');
        if (colon < 0 || rest.EndsWith(']'))
        {
            error = "it names no port.";
            return false;
        }

        string host = rest[..colon];
        if (!int.TryParse(rest.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            error = $"the port '{rest[(colon + 1)..]}' is not a number from 0 to 65535.";
            return false;
        }

        bool https = scheme == "https";
        if (host is "*" or "+" or "0.0.0.0")
        {
            address = new ListenAddress(https, IPAddress.Any, false, port);
        }
        else if (host is "[::]")
        {
            address = new ListenAddress(https, IPAddress.IPv6Any, false, port);
        }
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = new ListenAddress(https, null, true, port);
        }
        else if (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? ip))
        {
            address = new ListenAddress(https, ip, false, port);
        }
        else
        {
            error = $"the host '{host}' is not an IP address, localhost or a wildcard (*, +, 0.0.0.0).";
            return false;
        }

        error = null;
        return true;
    }
}
