using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace SecureComms;

/// <summary>
/// An immutable snapshot of the trust bundles of every trust domain this workload trusts: its own and any federated
/// ones. A certificate from a trust domain that has no bundle here is untrusted.
/// </summary>
public sealed class TrustBundleSet
{
    private readonly FrozenDictionary<TrustDomain, TrustBundle> _bundles;

    /// <summary>Creates a snapshot from bundles; at most one bundle per trust domain.</summary>
    /// <exception cref="ArgumentException">Two bundles name the same trust domain.</exception>
    public TrustBundleSet(IEnumerable<TrustBundle> bundles)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        var byDomain = new Dictionary<TrustDomain, TrustBundle>();
        foreach (TrustBundle bundle in bundles)
        {
            if (!byDomain.TryAdd(bundle.TrustDomain, bundle))
            {
                throw new ArgumentException($"More than one trust bundle for trust domain '{bundle.TrustDomain}'.", nameof(bundles));
            }
        }

        _bundles = byDomain.ToFrozenDictionary();
    }

    /// <summary>An empty set: trusts nobody.</summary>
    public static TrustBundleSet Empty { get; } = new([]);

    /// <summary>The bundles, one per trust domain.</summary>
    public IReadOnlyCollection<TrustBundle> Bundles => _bundles.Values;

    /// <summary>Lists the trust domains and how many authorities each has, e.g. <c>example.org (1 CA)</c>.</summary>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        foreach (TrustBundle bundle in _bundles.Values)
        {
            text.Append(text.Length == 0 ? string.Empty : ", ").Append(bundle.TrustDomain.Name).Append(" (").Append(bundle.Authorities.Count).Append(" CA)");
        }

        return text.Length == 0 ? "(no trust domains)" : text.ToString();
    }

    /// <summary>Finds the bundle of <paramref name="trustDomain"/>.</summary>
    public bool TryGetBundle(TrustDomain trustDomain, [NotNullWhen(true)] out TrustBundle? bundle) =>
        _bundles.TryGetValue(trustDomain, out bundle);
}
