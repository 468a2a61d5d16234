using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// Trust bundles held in memory and replaced in code with <see cref="Update"/>: for tests, samples, and bundles that
/// arrive from somewhere other than files (for example a SPIFFE Workload API client).
/// </summary>
public sealed class InMemoryTrustBundleSource : IDisposable, ITrustBundleSource
{
    private TrustBundleSet _current;
    private readonly ChangeSignal _changed = new();

    /// <summary>Starts with <paramref name="bundles"/>.</summary>
    public InMemoryTrustBundleSource(TrustBundleSet bundles)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        _current = bundles;
    }

    /// <summary>Starts with <paramref name="bundles"/>, one per trust domain.</summary>
    public InMemoryTrustBundleSource(params TrustBundle[] bundles)
        : this(new TrustBundleSet(bundles))
    {
    }

    /// <inheritdoc />
    public TrustBundleSet Current => Volatile.Read(ref _current);

    /// <inheritdoc />
    public IChangeToken GetChangeToken() => _changed.GetChangeToken();

    /// <summary>Replaces the bundles and signals the change.</summary>
    public void Update(TrustBundleSet bundles)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        Volatile.Write(ref _current, bundles);
        _changed.Signal();
    }

    /// <summary>Releases the change signal.</summary>
    public void Dispose() => _changed.Dispose();
}
