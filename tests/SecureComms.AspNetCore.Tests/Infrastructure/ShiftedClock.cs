namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>The system clock moved by <see cref="Shift"/>; only the server's notion of "now" changes.</summary>
internal sealed class ShiftedClock : TimeProvider
{
    private long _shiftTicks;

    public TimeSpan Shift
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _shiftTicks));
        set => Interlocked.Exchange(ref _shiftTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Shift;
}
