using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>
/// The X.509 authorities (root CA certificates) of one trust domain (SPIFFE Trust Domain and Bundle §4).
/// A peer certificate is trusted only when it chains to the bundle of the peer's own trust domain.
/// </summary>
public sealed class TrustBundle
{
    /// <summary>Creates a bundle for <paramref name="trustDomain"/> with the given X.509 authorities.</summary>
    /// <exception cref="ArgumentException">The trust domain is empty or there is no authority.</exception>
    public TrustBundle(TrustDomain trustDomain, IEnumerable<X509Certificate2> authorities)
    {
        ArgumentNullException.ThrowIfNull(authorities);
        if (trustDomain.IsEmpty)
        {
            throw new ArgumentException("A trust bundle needs a trust domain.", nameof(trustDomain));
        }

        var collection = new X509Certificate2Collection();
        foreach (X509Certificate2 authority in authorities)
        {
            collection.Add(authority);
        }

        if (collection.Count == 0)
        {
            throw new ArgumentException($"The trust bundle of '{trustDomain}' has no X.509 authority.", nameof(authorities));
        }

        TrustDomain = trustDomain;
        Authorities = collection;
    }

    /// <summary>The trust domain these authorities speak for.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>The X.509 authorities, used as the custom root trust store when building chains.</summary>
    public X509Certificate2Collection Authorities { get; }

    /// <summary>The earliest <c>NotAfter</c> among the authorities.</summary>
    public DateTimeOffset EarliestExpiry
    {
        get
        {
            DateTime earliest = DateTime.MaxValue;
            foreach (X509Certificate2 authority in Authorities)
            {
                if (authority.NotAfter < earliest)
                {
                    earliest = authority.NotAfter;
                }
            }

            return new DateTimeOffset(earliest.ToUniversalTime());
        }
    }
}
