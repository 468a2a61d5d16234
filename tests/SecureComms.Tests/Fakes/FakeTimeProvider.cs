namespace SecureComms.Tests.Fakes;

/// <summary>
/// A manual clock for tests. Time moves only through <see cref="SetUtcNow"/> and <see cref="Advance"/>; timers created
/// by <see cref="CreateTimer"/> (and so <c>Task.Delay(…, timeProvider)</c>) fire synchronously inside those calls once
/// the clock reaches their due time, in due-time order, periodic ones as many times as the jump covers. A timer due
/// now (due time zero) fires on the next Advance/SetUtcNow, even <c>Advance(TimeSpan.Zero)</c>.
/// </summary>
internal sealed class FakeTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<FakeTimer> _timers = [];
    private DateTimeOffset _now;

    public FakeTimeProvider()
        : this(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero))
    {
    }

    public FakeTimeProvider(DateTimeOffset start) => _now = start.ToUniversalTime();

    public DateTimeOffset UtcNow
    {
        get => GetUtcNow();
        set => SetUtcNow(value);
    }

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        lock (_lock)
        {
            _now += delta;
        }

        FireDueTimers();
    }

    public void SetUtcNow(DateTimeOffset value)
    {
        lock (_lock)
        {
            _now = value.ToUniversalTime();
        }

        FireDueTimers();
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new FakeTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    private void FireDueTimers()
    {
        while (true)
        {
            FakeTimer? next = null;
            lock (_lock)
            {
                foreach (FakeTimer timer in _timers)
                {
                    if (timer.DueAt is { } due && due <= _now && (next is null || due < next.DueAt))
                    {
                        next = timer;
                    }
                }

                if (next is null)
                {
                    return;
                }

                // Reschedule before running, so a callback that calls Change wins.
                next.DueAt = next.Period is { } period ? next.DueAt + period : null;
            }

            next.Callback(next.State);
        }
    }

    private sealed class FakeTimer(FakeTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;

        public object? State { get; } = state;

        public DateTimeOffset? DueAt { get; set; }

        public TimeSpan? Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                if (!owner._timers.Contains(this))
                {
                    return false;
                }

                DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : owner._now + dueTime;
                Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? null : period;
                return true;
            }
        }

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._timers.Remove(this);
                DueAt = null;
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
