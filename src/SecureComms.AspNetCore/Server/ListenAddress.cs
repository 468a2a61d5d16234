using System.Diagnostics.CodeAnalysis;
using System.Net;
using Microsoft.AspNetCore.Http;

namespace SecureComms;

/// <summary>
/// A listener address as SecureComms opens it: read by ASP.NET Core's own <see cref="BindingAddress.Parse"/> (the
/// parser Kestrel uses for <c>ASPNETCORE_URLS</c>), then held to what SecureComms binds: http or https, an explicit
/// port, and an IP address, <c>localhost</c> or a wildcard (<c>*</c>, <c>+</c>, <c>0.0.0.0</c>, <c>[::]</c>) as host.
/// Host names other than <c>localhost</c>, Unix sockets, named pipes and path bases are refused, so a listener never
/// binds to something other than what its address says.
/// </summary>
internal readonly record struct ListenAddress(bool IsHttps, IPAddress? Address, bool IsLocalhost, int Port)
{
    internal static bool TryParse(string url, out ListenAddress address, [NotNullWhen(false)] out string? error)
    {
        address = default;
        BindingAddress parsed;
        try
        {
            parsed = BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            error = "it is not an absolute URL such as https://0.0.0.0:8443.";
            return false;
        }

        string scheme = parsed.Scheme.ToLowerInvariant();
        if (scheme is not ("http" or "https"))
        {
            error = $"the scheme '{scheme}' is neither https nor http.";
            return false;
        }

        if (parsed.IsUnixPipe || parsed.IsNamedPipe)
        {
            error = "Unix sockets and named pipes are not SecureComms listeners; give an IP address and a port.";
            return false;
        }

        // BindingAddress falls back to 80/443 without a port, and takes "host:text" for a host when the port is not a
        // number; SecureComms wants the port written out, so what follows the host must be ":" and the port.
        string host = parsed.Host;
        int hostEnd = parsed.Scheme.Length + Uri.SchemeDelimiter.Length + host.Length;
        if (hostEnd >= url.Length || url[hostEnd] != ':')
        {
            int colon = host.LastIndexOf(':');
            if (colon < 0 || host.EndsWith(']'))
            {
                error = "it names no port.";
                return false;
            }

            error = $"the port '{host[(colon + 1)..]}' is not a number from 0 to 65535.";
            return false;
        }

        ReadOnlySpan<char> port = url.AsSpan(hostEnd + 1);
        int slash = port.IndexOf('/');
        port = slash >= 0 ? port[..slash] : port;
        if (port.IsEmpty || port.ContainsAnyExceptInRange('0', '9') || parsed.Port > IPEndPoint.MaxPort)
        {
            error = $"the port '{port}' is not a number from 0 to 65535.";
            return false;
        }

        if (parsed.PathBase.Length > 0)
        {
            error = $"it has a path ('{parsed.PathBase}'); a listener address is scheme, host and port only.";
            return false;
        }

        bool https = scheme == "https";
        if (host is "*" or "+")
        {
            address = new ListenAddress(https, IPAddress.Any, false, parsed.Port);
        }
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = new ListenAddress(https, null, true, parsed.Port);
        }
        else if (IPAddress.TryParse(host.AsSpan().Trim(['[', ']']), out IPAddress? ip))
        {
            address = new ListenAddress(https, ip, false, parsed.Port);
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
