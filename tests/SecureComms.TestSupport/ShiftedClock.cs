namespace SecureComms.TestSupport;

/// <summary>
/// The system clock moved by <see cref="Shift"/>: only the notion of "now" of the service it is given changes.
/// </summary>
/// <remarks>
/// Not a <c>FakeTimeProvider</c> on purpose. It serves a real Kestrel host over real TLS with certificates and tokens
/// minted at the real time: the platform checks certificate validity in the handshake against the real clock, the
/// token issuer stamps its tokens with the real clock, and the host's own timers (key refresh, rotation debounce,
/// request timeouts) must keep running by themselves. A fake clock frozen at its start would stall those timers and
/// drift from the clock the handshake and the issuer use; this clock keeps real time and moves only the server's
/// per-request view of it, which is what the tests that use it examine.
/// </remarks>
public sealed class ShiftedClock : TimeProvider
{
    private long _shiftTicks;

    public TimeSpan Shift
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _shiftTicks));
        set => Interlocked.Exchange(ref _shiftTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Shift;
}
