using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace SecureComms;

/// <summary>The compiled list of trusted proxies: SPIFFE ID authorizers for mTLS peers, networks for plaintext peers.</summary>
internal sealed class TrustedProxies
{
    private readonly SpiffeIdAuthorizer? _byIdentity;
    private readonly IPNetwork[] _networks;

    private TrustedProxies(SpiffeIdAuthorizer? byIdentity, IPNetwork[] networks)
    {
        _byIdentity = byIdentity;
        _networks = networks;
    }

    public bool IsEmpty => _byIdentity is null && _networks.Length == 0;

    /// <summary>An mTLS peer is trusted by its SPIFFE ID only.</summary>
    public bool TrustsIdentity(SpiffeId peer) => _byIdentity?.IsAuthorized(peer) == true;

    /// <summary>A plaintext peer is trusted by its address only.</summary>
    public bool TrustsAddress(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        // IPNetwork.Contains matches an IPv4 address mapped to IPv6 (as a dual-stack socket reports it) against IPv4 networks.
        foreach (IPNetwork network in _networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    internal static bool TryCompile(IList<string> entries, [NotNullWhen(true)] out TrustedProxies? proxies, List<string> errors, string key)
    {
        var authorizers = new List<SpiffeIdAuthorizer>();
        var networks = new List<IPNetwork>();
        int before = errors.Count;
        for (int i = 0; i < entries.Count; i++)
        {
            string entry = entries[i];
            if (entry.StartsWith("spiffe://", StringComparison.Ordinal))
            {
                if (SpiffeIdAuthorizer.TryParse(entry, out SpiffeIdAuthorizer? authorizer, out string? error))
                {
                    authorizers.Add(authorizer);
                }
                else
                {
                    errors.Add($"{key}:{i} '{entry}': {error}");
                }
            }
            else if (IPNetwork.TryParse(entry.Contains('/', StringComparison.Ordinal) ? entry : entry + (entry.Contains(':', StringComparison.Ordinal) ? "/128" : "/32"), out IPNetwork network))
            {
                networks.Add(network);
            }
            else
            {
                errors.Add($"{key}:{i} '{entry}' is neither a SPIFFE ID pattern nor an IP address or CIDR range.");
            }
        }

        proxies = errors.Count == before
            ? new TrustedProxies(authorizers.Count == 0 ? null : SpiffeIdAuthorizer.AnyOf([.. authorizers]), [.. networks])
            : null;
        return proxies is not null;
    }
}
