using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// The standard reload pattern behind <c>GetChangeToken()</c>: each token fires once, when <see cref="Signal"/>
/// replaces the snapshot it was handed out for. Replaced sources are cancelled but not disposed, so a reader racing
/// with <see cref="Signal"/> never meets an <see cref="ObjectDisposedException"/> (a source without timers holds no
/// unmanaged resource).
/// </summary>
internal sealed class ChangeSignal : IDisposable
{
    private CancellationTokenSource _current = new();
    private volatile bool _disposed;

    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _current).Token);

    /// <summary>Fires the tokens handed out so far; their callbacks run on the calling thread.</summary>
    public void Signal()
    {
        if (_disposed)
        {
            return;
        }

        CancellationTokenSource previous = Interlocked.Exchange(ref _current, new CancellationTokenSource());
        previous.Cancel();
    }

    /// <summary>Stops signalling; tokens already handed out never fire.</summary>
    public void Dispose() => _disposed = true;
}
