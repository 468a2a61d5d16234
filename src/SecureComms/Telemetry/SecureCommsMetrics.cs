using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SecureComms;

/// <summary>
/// The instruments of the <c>SecureComms</c> meter, created once from <see cref="IMeterFactory"/>. Every tag is
/// low-cardinality: a decision, a reason code, a side, a result, a client name from configuration — never a
/// SPIFFE ID of a caller, a subject, a thumbprint or a raw path.
/// </summary>
internal sealed class SecureCommsMetrics
{
    private static readonly string[] ReasonNames = BuildReasonNames();

    private readonly Counter<long> _decisions;
    private readonly Counter<long> _peerCertificateFailures;
    private readonly Counter<long> _tokenAcquisitions;
    private readonly Histogram<double> _tokenDuration;
    private readonly Counter<long> _rotations;
    private readonly Counter<long> _configurationReloads;

    public SecureCommsMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = meterFactory.Create(SecureCommsTelemetry.MeterName);
        _decisions = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.AuthorizationDecisions, "{decision}", "Inbound authorization decisions, by decision and reason.");
        _peerCertificateFailures = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.PeerCertificateFailures, "{certificate}", "Peer certificates refused, by reason and the peer's side.");
        _tokenAcquisitions = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.TokenAcquisitions, "{acquisition}", "Access token acquisitions for outbound calls, by result.");
        _tokenDuration = Meter.CreateHistogram<double>(
            SecureCommsTelemetry.Instruments.TokenAcquisitionDuration, "s", "Duration of token requests to the authorization server, by result.");
        _rotations = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.CertificateRotations, "{rotation}", "Rotations of the workload's own certificate, by result.");
        _configurationReloads = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.ConfigurationReloads, "{reload}", "Configuration reloads, by section and result (success or rejected).");
    }

    /// <summary>The <c>SecureComms</c> meter, shared with the expiry gauges.</summary>
    public Meter Meter { get; }

    public void AuthorizationDecision(bool allowed, string reason) =>
        _decisions.Add(
            1,
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Decision, allowed ? SecureCommsTelemetry.Results.Allow : SecureCommsTelemetry.Results.Deny),
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Reason, reason));

    public void PeerCertificateRefused(SvidValidationFailure reason, PeerSide side) =>
        _peerCertificateFailures.Add(
            1,
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Reason, ReasonName(reason)),
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.PeerSide, SideName(side)));

    /// <summary>Counts one acquisition; <paramref name="duration"/> is recorded when the server was asked.</summary>
    public void TokenAcquisition(string clientName, string result, TimeSpan? duration)
    {
        var tags = new TagList
        {
            { SecureCommsTelemetry.Tags.ClientName, clientName },
            { SecureCommsTelemetry.Tags.Result, result },
        };
        _tokenAcquisitions.Add(1, tags);
        if (duration is { } elapsed)
        {
            _tokenDuration.Record(elapsed.TotalSeconds, tags);
        }
    }

    public void CertificateRotation(bool succeeded) =>
        _rotations.Add(1, new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Result, succeeded ? SecureCommsTelemetry.Results.Success : SecureCommsTelemetry.Results.Failed));

    /// <summary>Counts one reload of <paramref name="section"/> that took effect, or one refused change.</summary>
    public void ConfigurationReload(string section, bool applied) =>
        _configurationReloads.Add(
            1,
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.ConfigurationSection, section),
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Result, applied ? SecureCommsTelemetry.Results.Success : SecureCommsTelemetry.Results.Rejected));

    /// <summary>The tag value of a peer side: the role of the peer whose certificate was checked.</summary>
    internal static string SideName(PeerSide side) => side == PeerSide.Client ? "client" : "server";

    /// <summary>Cached enum names, so recording a failure allocates no string.</summary>
    internal static string ReasonName(SvidValidationFailure reason) =>
        (uint)reason < (uint)ReasonNames.Length ? ReasonNames[(int)reason] : reason.ToString();

    private static string[] BuildReasonNames()
    {
        SvidValidationFailure[] values = Enum.GetValues<SvidValidationFailure>();
        string[] names = new string[values.Max(v => (int)v) + 1];
        foreach (SvidValidationFailure value in values)
        {
            names[(int)value] = value.ToString();
        }

        return names;
    }
}
