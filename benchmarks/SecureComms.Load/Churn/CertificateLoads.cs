using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Primitives;

namespace SecureComms.Load.Churn;

/// <summary>
/// When each certificate became a workload's current one: its <see cref="ICertificateSource"/> signals every rotation
/// it applies (a file change seen by the watcher, or the periodic re-read), and the time is taken in that signal.
/// </summary>
internal sealed class CertificateLoads : IDisposable
{
    private readonly ConcurrentDictionary<string, TimeSpan> _loaded = new(StringComparer.Ordinal);
    private readonly IDisposable _subscription;

    public CertificateLoads(ICertificateSource source, RunClock clock)
    {
        _subscription = ChangeToken.OnChange(source.GetChangeToken, () => _loaded.TryAdd(source.Current.Certificate.Thumbprint, clock.Elapsed));
    }

    /// <summary>When <paramref name="certificate"/> became current; null if it has not.</summary>
    public TimeSpan? Loaded(X509Certificate2 certificate) => _loaded.TryGetValue(certificate.Thumbprint, out TimeSpan at) ? at : null;

    public void Dispose() => _subscription.Dispose();
}
