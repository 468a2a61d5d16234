using Microsoft.Extensions.Time.Testing;

namespace SecureComms.TestSupport;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that tells the test whenever the code under test (re)arms one of its timers, so a
/// test can wait until something on another thread (a file watcher's event, say) has reached the clock, instead of
/// sleeping and hoping it did.
/// </summary>
public sealed class TimerWatchingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    public TimerWatchingTimeProvider()
        : this(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    /// <summary>Raised with the due time on each <see cref="ITimer.Change"/> of a timer this clock created.</summary>
    public event Action<TimeSpan>? TimerChanged;

    /// <summary>
    /// A task that completes the next time a timer is armed with <paramref name="dueTime"/> while
    /// <paramref name="when"/> (if given) holds, checked on the arming thread at that moment.
    /// </summary>
    public Task NextTimerChangeAsync(TimeSpan dueTime, Func<bool>? when = null)
    {
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(TimeSpan due)
        {
            if (due == dueTime && (when is null || when()) && changed.TrySetResult())
            {
                TimerChanged -= OnChanged;
            }
        }

        TimerChanged += OnChanged;
        return changed.Task;
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new WatchedTimer(base.CreateTimer(callback, state, dueTime, period), this);

    private sealed class WatchedTimer(ITimer inner, TimerWatchingTimeProvider owner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            bool changed = inner.Change(dueTime, period);
            owner.TimerChanged?.Invoke(dueTime);
            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
