using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace SecureComms.Observability;

/// <summary>
/// An OpenTelemetry SDK processor that prints each finished SecureComms span as one line — name, duration, trace and
/// its <c>securecomms.*</c>, <c>tls.*</c> and <c>error.type</c> tags — and keeps it for the sample's own check.
/// It sees exactly what the OTLP exporter sends, so the lines are what a collector receives.
/// </summary>
internal sealed class SpanLinePrinter : BaseProcessor<Activity>
{
    private readonly ConcurrentQueue<Activity> _finished = new();

    /// <summary>The SecureComms spans finished so far.</summary>
    public IReadOnlyCollection<Activity> Finished => _finished;

    public override void OnEnd(Activity data)
    {
        if (data.Source.Name != SecureCommsTelemetry.ActivitySourceName)
        {
            return; // HTTP and sample spans go to the collector only
        }

        _finished.Enqueue(data);
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"  {data.TraceId.ToHexString()[..8]}  {data.DisplayName,-26} {data.Duration.TotalMilliseconds,8:0.00} ms ");
        foreach (KeyValuePair<string, object?> tag in data.TagObjects)
        {
            if (tag.Key.StartsWith("securecomms.", StringComparison.Ordinal) || tag.Key.StartsWith("tls.", StringComparison.Ordinal) || tag.Key == SecureCommsTelemetry.Tags.ErrorType)
            {
                line.Append(CultureInfo.InvariantCulture, $" {tag.Key}={tag.Value}");
            }
        }

        if (data.Status == ActivityStatusCode.Error)
        {
            line.Append(" [status Error]");
        }

        Console.WriteLine(line.ToString());
    }
}

/// <summary>
/// An OpenTelemetry SDK metric exporter that keeps the SecureComms metric points of the latest collection as lines:
/// the sample calls <see cref="MeterProvider"/>.ForceFlush() once and prints them.
/// </summary>
internal sealed class MetricPointPrinter : BaseExporter<Metric>
{
    /// <summary>One line per metric point of the latest collection.</summary>
    public IReadOnlyList<string> Lines { get; private set; } = [];

    public override ExportResult Export(in Batch<Metric> batch)
    {
        var lines = new List<string>();
        foreach (Metric metric in batch)
        {
            if (metric.MeterName != SecureCommsTelemetry.MeterName)
            {
                continue;
            }

            foreach (ref readonly MetricPoint point in metric.GetMetricPoints())
            {
                var tags = new StringBuilder();
                foreach (KeyValuePair<string, object?> tag in point.Tags)
                {
                    tags.Append(CultureInfo.InvariantCulture, $" {tag.Key}={tag.Value}");
                }

                lines.Add(string.Create(CultureInfo.InvariantCulture, $"  {metric.Name,-40} {Value(metric.MetricType, point),-24}{tags}").TrimEnd());
            }
        }

        Lines = lines;
        return ExportResult.Success;
    }

    private static string Value(MetricType type, in MetricPoint point) => type switch
    {
        MetricType.LongSum or MetricType.LongSumNonMonotonic => point.GetSumLong().ToString(CultureInfo.InvariantCulture),
        MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic => point.GetSumDouble().ToString("0.###", CultureInfo.InvariantCulture),
        MetricType.LongGauge => point.GetGaugeLastValueLong().ToString(CultureInfo.InvariantCulture),
        MetricType.DoubleGauge => point.GetGaugeLastValueDouble().ToString("0", CultureInfo.InvariantCulture),
        MetricType.Histogram => string.Create(CultureInfo.InvariantCulture, $"count {point.GetHistogramCount()}, sum {point.GetHistogramSum():0.####}"),
        _ => type.ToString(),
    };
}
