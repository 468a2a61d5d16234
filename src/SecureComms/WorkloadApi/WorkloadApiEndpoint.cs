using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace SecureComms;

/// <summary>
/// A SPIFFE Workload API address (SPIFFE Workload Endpoint §4): <c>unix:///absolute/path</c> (also written
/// <c>unix:/absolute/path</c>) or <c>tcp://ip-address:port</c>. No host name, user info, query or fragment.
/// </summary>
internal sealed class WorkloadApiEndpoint
{
    private WorkloadApiEndpoint(string address, string? socketPath, IPEndPoint? tcpEndPoint)
    {
        Address = address;
        SocketPath = socketPath;
        TcpEndPoint = tcpEndPoint;
    }

    /// <summary>The address as configured.</summary>
    public string Address { get; }

    /// <summary>The Unix domain socket's path, or <see langword="null"/> for a TCP endpoint.</summary>
    public string? SocketPath { get; }

    /// <summary>The TCP end point, or <see langword="null"/> for a Unix domain socket.</summary>
    public IPEndPoint? TcpEndPoint { get; }

    public override string ToString() => Address;

    public static WorkloadApiEndpoint Parse(string address) =>
        TryParse(address, out WorkloadApiEndpoint? endpoint, out string? error)
            ? endpoint
            : throw new FormatException(error);

    public static bool TryParse(
        string? address,
        [NotNullWhen(true)] out WorkloadApiEndpoint? endpoint,
        [NotNullWhen(false)] out string? error)
    {
        endpoint = null;
        if (string.IsNullOrWhiteSpace(address))
        {
            error = "the Workload API address is empty; expected unix:///path/to/agent.sock or tcp://ip:port";
            return false;
        }

        if (address.Contains('?', StringComparison.Ordinal) || address.Contains('#', StringComparison.Ordinal))
        {
            error = $"'{address}' has a query or fragment, which a Workload API address must not have";
            return false;
        }

        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            string rest = address["unix:".Length..];
            if (rest.StartsWith("//", StringComparison.Ordinal))
            {
                // unix://host/path is refused: the authority must be empty (unix:///path).
                rest = rest[2..];
                if (!rest.StartsWith('/'))
                {
                    error = $"'{address}' names a host; a Unix socket address is unix:///absolute/path";
                    return false;
                }
            }

            if (rest.Length < 2 || !rest.StartsWith('/'))
            {
                error = $"'{address}' has no absolute socket path; expected unix:///absolute/path";
                return false;
            }

            endpoint = new WorkloadApiEndpoint(address, Uri.UnescapeDataString(rest), null);
            error = null;
            return true;
        }

        if (address.StartsWith("tcp://", StringComparison.Ordinal))
        {
            string authority = address["tcp://".Length..].TrimEnd('/');
            if (authority.Contains('/', StringComparison.Ordinal) || authority.Contains('@', StringComparison.Ordinal))
            {
                error = $"'{address}' has a path or user info; expected tcp://ip-address:port";
                return false;
            }

            if (!IPEndPoint.TryParse(authority, out IPEndPoint? ip) || ip.Port == 0 || !HasExplicitPort(authority))
            {
                error = $"'{address}' is not an IP address with a port; expected tcp://ip-address:port (no host names)";
                return false;
            }

            endpoint = new WorkloadApiEndpoint(address, null, ip);
            error = null;
            return true;
        }

        error = $"'{address}' has an unsupported scheme; expected unix:///path/to/agent.sock or tcp://ip:port";
        return false;
    }

    private static bool HasExplicitPort(string authority)
    {
        int colon = authority.LastIndexOf(':');
        return colon > 0 && colon > authority.LastIndexOf(']');
    }
}
