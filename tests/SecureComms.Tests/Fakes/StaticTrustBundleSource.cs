using Microsoft.Extensions.Primitives;

namespace SecureComms.Tests.Fakes;

/// <summary>A fixed set of trust bundles for tests; never changes.</summary>
internal sealed class StaticTrustBundleSource(params TrustBundle[] bundles) : ITrustBundleSource
{
    public TrustBundleSet Current { get; } = new(bundles);

    public IChangeToken GetChangeToken() => NeverChangeToken.Instance;

    private sealed class NeverChangeToken : IChangeToken
    {
        public static NeverChangeToken Instance { get; } = new();

        public bool HasChanged => false;

        public bool ActiveChangeCallbacks => false;

        public IDisposable RegisterChangeCallback(Action<object?> callback, object? state) => NoopDisposable.Instance;
    }

    private sealed class NoopDisposable : IDisposable
    {
        public static NoopDisposable Instance { get; } = new();

        public void Dispose()
        {
        }
    }
}
