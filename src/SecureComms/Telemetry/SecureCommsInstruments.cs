using System.Diagnostics.Metrics;

namespace SecureComms;

/// <summary>
/// The definitions of the <c>SecureComms</c> instruments that both packages record into, and their tag values: stateless,
/// so that <c>SecureComms.AspNetCore</c> can compile this file in (a linked source file) once it no longer sees the
/// core's internals at all; until then it calls it. A meter from
/// <see cref="IMeterFactory"/> with the same name is one <see cref="Meter"/> instance, and that meter returns the instrument
/// it already holds for the same name, unit and description: one definition here keeps the two packages on that one
/// instrument, so an exporter never sees it twice.
/// </summary>
internal static class SecureCommsInstruments
{
    private static readonly string[] ReasonNames = BuildReasonNames();

    /// <summary>The <c>SecureComms</c> meter of <paramref name="meterFactory"/> (the same instance for every caller).</summary>
    public static Meter CreateMeter(IMeterFactory meterFactory) => meterFactory.Create(SecureCommsTelemetry.MeterName);

    /// <summary>Peer certificates refused: the server side counts callers, the client side counts servers.</summary>
    public static Counter<long> PeerCertificateFailures(Meter meter) => meter.CreateCounter<long>(
        SecureCommsTelemetry.Instruments.PeerCertificateFailures, "{certificate}", "Peer certificates refused, by reason and the peer's side.");

    /// <summary>The tag value of a peer side: the role of the peer whose certificate was checked.</summary>
    public static string SideName(PeerSide side) => side == PeerSide.Client ? "client" : "server";

    /// <summary>Cached enum names, so recording a failure allocates no string.</summary>
    public static string ReasonName(SvidValidationFailure reason) =>
        (uint)reason < (uint)ReasonNames.Length ? ReasonNames[(int)reason] : reason.ToString();

    private static string[] BuildReasonNames()
    {
        SvidValidationFailure[] values = Enum.GetValues<SvidValidationFailure>();
        int max = 0;
        foreach (SvidValidationFailure value in values)
        {
            max = Math.Max(max, (int)value);
        }

        string[] names = new string[max + 1];
        foreach (SvidValidationFailure value in values)
        {
            names[(int)value] = value.ToString();
        }

        return names;
    }
}
