using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>
/// Listens to the <c>SecureComms</c> activity source and to the <c>SecureComms</c> meters of the given meter
/// instances (each service provider has its own), as an OpenTelemetry SDK would, and keeps what was emitted.
/// </summary>
internal sealed class TelemetryCapture : IDisposable
{
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters;
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ConcurrentQueue<Measurement> _measurements = new();

    public TelemetryCapture(params Meter[] meters)
    {
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SecureCommsTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_activities);

        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (meters.Contains(instrument.Meter))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => _measurements.Enqueue(new Measurement(instrument.Name, value, ToDictionary(tags))));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => _measurements.Enqueue(new Measurement(instrument.Name, value, ToDictionary(tags))));
        _meters.Start();
    }

    public IReadOnlyList<Activity> Spans(string name) => _spans.Where(s => s.OperationName == name).ToList();

    public IReadOnlyList<Measurement> Measurements(string instrument) => _measurements.Where(m => m.Instrument == instrument).ToList();

    /// <summary>Reads the observable instruments now (as an exporter's collection cycle would).</summary>
    public void CollectObservables() => _meters.RecordObservableInstruments();

    /// <summary>Every tag value of every span, for leak checks.</summary>
    public IEnumerable<string> AllSpanText() =>
        _spans.SelectMany(s => s.TagObjects.Select(t => $"{t.Key}={t.Value}").Append(s.StatusDescription ?? string.Empty).Append(s.DisplayName));

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }

    private static Dictionary<string, string?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            result[tag.Key] = tag.Value?.ToString();
        }

        return result;
    }

    internal sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, string?> Tags)
    {
        public bool Has(string key, string value) => Tags.TryGetValue(key, out string? actual) && actual == value;
    }
}
