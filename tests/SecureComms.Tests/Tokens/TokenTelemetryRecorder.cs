using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace SecureComms.Tests.Tokens;

/// <summary>
/// The token acquisition metric results of one <see cref="SecureCommsMetrics"/> instance, and the token acquisition spans
/// (every source listener sees every test's spans: pick yours with <see cref="Spans"/>).
/// </summary>
internal sealed class TokenTelemetryRecorder : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly MeterListener _meters;
    private readonly ActivityListener _spans;
    private readonly ConcurrentQueue<string?> _results = new();
    private readonly ConcurrentQueue<Activity> _activities = new();

    public TokenTelemetryRecorder()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Metrics = new SecureCommsMetrics(_services.GetRequiredService<IMeterFactory>());
        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter == Metrics.Meter && instrument.Name == SecureCommsTelemetry.Instruments.TokenAcquisitions)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == SecureCommsTelemetry.Tags.Result)
                {
                    _results.Enqueue(tag.Value as string);
                }
            }
        });
        _meters.Start();
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SecureCommsTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.OperationName == SecureCommsTelemetry.Spans.TokenAcquisition)
                {
                    _activities.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_spans);
    }

    public SecureCommsMetrics Metrics { get; }

    /// <summary>The <c>securecomms.result</c> of each token acquisition counted so far, in order.</summary>
    public string?[] Results => [.. _results];

    /// <summary>The token acquisition spans stopped so far whose <c>url.full</c> starts with <paramref name="address"/>.</summary>
    public Activity[] Spans(Uri address)
    {
        string prefix = address.GetLeftPart(UriPartial.Authority);
        return [.. _activities.Where(s => ((string?)s.GetTagItem("url.full"))?.StartsWith(prefix, StringComparison.Ordinal) == true)];
    }

    public void Dispose()
    {
        _spans.Dispose();
        _meters.Dispose();
        _services.Dispose();
    }
}
