using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SecureComms;

/// <summary>
/// The core package's instruments of the <c>SecureComms</c> meter, created once from <see cref="IMeterFactory"/>
/// (<c>SecureComms.AspNetCore</c> records the server's into the same meter). Every tag is
/// low-cardinality: a decision, a reason code, a side, a result, a client name from configuration — never a
/// SPIFFE ID of a caller, a subject, a thumbprint or a raw path.
/// </summary>
internal sealed class SecureCommsMetrics
{
    private readonly Counter<long> _peerCertificateFailures;
    private readonly Counter<long> _tokenAcquisitions;
    private readonly Histogram<double> _tokenDuration;
    private readonly Counter<long> _rotations;
    private readonly Counter<long> _configurationReloads;
    private readonly Counter<long> _workloadApiUpdates;
    private readonly Counter<long> _workloadApiDisconnections;

    public SecureCommsMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = SecureCommsInstruments.CreateMeter(meterFactory);
        _peerCertificateFailures = SecureCommsInstruments.PeerCertificateFailures(Meter); // also recorded by SecureComms.AspNetCore
        _tokenAcquisitions = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.TokenAcquisitions, "{acquisition}", "Access token acquisitions for outbound calls, by result.");
        _tokenDuration = Meter.CreateHistogram<double>(
            SecureCommsTelemetry.Instruments.TokenAcquisitionDuration, "s", "Duration of token requests to the authorization server, by result.");
        _rotations = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.CertificateRotations, "{rotation}", "Rotations of the workload's own certificate, by result.");
        _configurationReloads = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.ConfigurationReloads, "{reload}", "Configuration reloads, by section and result (success or rejected).");
        _workloadApiUpdates = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.WorkloadApiUpdates, "{update}", "X.509 updates pushed by the SPIFFE Workload API, by result (success or rejected).");
        _workloadApiDisconnections = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.WorkloadApiDisconnections, "{disconnection}", "Losses of the SPIFFE Workload API stream, by gRPC status.");
    }

    /// <summary>The <c>SecureComms</c> meter, shared with the expiry gauges.</summary>
    public Meter Meter { get; }

    public void PeerCertificateRefused(SvidValidationFailure reason, PeerSide side) =>
        _peerCertificateFailures.Add(
            1,
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Reason, SecureCommsInstruments.ReasonName(reason)),
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.PeerSide, SecureCommsInstruments.SideName(side)));

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

    /// <summary>Counts one pushed X.509 update: <see cref="SecureCommsTelemetry.Results.Success"/> or <see cref="SecureCommsTelemetry.Results.Rejected"/>.</summary>
    public void WorkloadApiUpdate(string result) =>
        _workloadApiUpdates.Add(1, new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Result, result));

    /// <summary>Counts one loss of the stream (or failed reconnection), by gRPC status name or <c>stream_ended</c>.</summary>
    public void WorkloadApiDisconnection(string status) =>
        _workloadApiDisconnections.Add(1, new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Reason, status));
}
