using System.Diagnostics;

namespace SecureComms.Load.Churn;

/// <summary>The churn run's time: from the moment the callers start (<see cref="Restart"/>), monotonic.</summary>
internal sealed class RunClock
{
    private long _origin = Stopwatch.GetTimestamp();

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(Volatile.Read(ref _origin));

    public void Restart() => Volatile.Write(ref _origin, Stopwatch.GetTimestamp());

    /// <summary>Waits until <see cref="Elapsed"/> reaches <paramref name="at"/>.</summary>
    public Task DelayUntilAsync(TimeSpan at) => at > Elapsed ? Task.Delay(at - Elapsed) : Task.CompletedTask;
}
