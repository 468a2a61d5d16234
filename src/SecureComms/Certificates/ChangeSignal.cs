using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// The standard reload pattern behind <c>GetChangeToken()</c>: each token fires once, when <see cref="Signal"/>
/// replaces the snapshot it was handed out for.
/// </summary>
internal sealed class ChangeSignal : IDisposable
{
    private CancellationTokenSource _current = new();

    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _current).Token);

    public void Signal()
    {
        CancellationTokenSource previous = Interlocked.Exchange(ref _current, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
    }

    public void Dispose() => Volatile.Read(ref _current).Dispose();
}
