using System.Diagnostics.Metrics;

namespace SecureComms;

/// <summary>
/// The server's instruments of the <c>SecureComms</c> meter: the authorization decisions counter, which only this
/// package records, and the peer certificate failures counter it shares with the core package's outbound client
/// (<see cref="SecureCommsInstruments"/> defines it once, so both get the one instrument of the one meter). Tags are
/// low-cardinality, as in the core package: a decision, a reason code, a side — never a caller's SPIFFE ID or a path.
/// </summary>
internal sealed class SecureCommsServerMetrics
{
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _peerCertificateFailures;
    private readonly Counter<long> _introspections;

    public SecureCommsServerMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = SecureCommsInstruments.CreateMeter(meterFactory);
        _decisions = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.AuthorizationDecisions, "{decision}", "Inbound authorization decisions, by decision and reason.");
        _peerCertificateFailures = SecureCommsInstruments.PeerCertificateFailures(Meter);
        _introspections = Meter.CreateCounter<long>(
            SecureCommsTelemetry.Instruments.TokenIntrospections, "{call}", "RFC 7662 introspection calls for opaque access tokens, by result.");
    }

    /// <summary>The <c>SecureComms</c> meter (the same instance the core package records into).</summary>
    public Meter Meter { get; }

    public void AuthorizationDecision(bool allowed, string reason) =>
        _decisions.Add(
            1,
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Decision, allowed ? SecureCommsTelemetry.Results.Allow : SecureCommsTelemetry.Results.Deny),
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Reason, reason));

    public void PeerCertificateRefused(SvidValidationFailure reason, PeerSide side) =>
        _peerCertificateFailures.Add(
            1,
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Reason, SecureCommsInstruments.ReasonName(reason)),
            new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.PeerSide, SecureCommsInstruments.SideName(side)));

    /// <summary>One introspection call: <c>success</c> (active), <c>rejected</c> (inactive or refused) or <c>failed</c> (no usable answer).</summary>
    public void Introspection(string result)
    {
        if (_introspections.Enabled)
        {
            _introspections.Add(1, new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.Result, result));
        }
    }
}
