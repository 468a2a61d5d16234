using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace SecureComms.Observability;

/// <summary>
/// What keeps one process with several services honest: each service's providers export that service's telemetry
/// only. Not needed in a service of your own, which has its process to itself.
/// </summary>
/// <remarks>
/// An OpenTelemetry tracer provider listens to activity sources by name, process-wide, and a meter provider to meters
/// by name. Five providers in one process would each export every span and every measurement of all five services,
/// each copy labelled with its own <c>service.name</c>. So:
/// <list type="bullet">
/// <item>A span belongs to the service whose source started the outermost span of its in-process chain
/// (<see cref="Activity.Parent"/>, which a remote parent from a <c>traceparent</c> header is not): that service's
/// request span (ASP.NET Core gives each host its own <c>Microsoft.AspNetCore</c> <see cref="ActivitySource"/>
/// instance) or its own work outside a request. The HttpClient and SecureComms spans of a request are thus its
/// service's. A span outside both (the token server's requests) is nobody's here.</item>
/// <item>An instrument belongs to the service whose <see cref="IMeterFactory"/> created its meter: ASP.NET Core,
/// Kestrel, the HttpClient factory and SecureComms all create theirs from the host's factory.</item>
/// </list>
/// </remarks>
internal static class ThisServiceOnly
{
    /// <summary>
    /// A processor that hands the exporters behind it only this service's spans. A <see cref="CompositeProcessor{T}"/>
    /// so that the SDK tells them their provider (the console exporter prints the provider's resource from it).
    /// </summary>
    public static BaseProcessor<Activity> Spans(ActivitySource requests, ActivitySource work, params BaseProcessor<Activity>?[] exporters) =>
        new SpanFilter(requests, work, exporters.OfType<BaseProcessor<Activity>>());

    /// <summary>A view that drops every instrument of another service's meters.</summary>
    public static Func<Instrument, MetricStreamConfiguration?> Instruments(IMeterFactory meters) =>
        instrument => ReferenceEquals(instrument.Meter.Scope, meters) ? null : MetricStreamConfiguration.Drop;

    private sealed class SpanFilter(ActivitySource requests, ActivitySource work, IEnumerable<BaseProcessor<Activity>> exporters)
        : CompositeProcessor<Activity>(exporters)
    {
        public override void OnStart(Activity data)
        {
            if (IsMine(data))
            {
                base.OnStart(data);
            }
        }

        public override void OnEnd(Activity data)
        {
            if (IsMine(data))
            {
                base.OnEnd(data);
            }
        }

        private bool IsMine(Activity span)
        {
            Activity outermost = span;
            while (outermost.Parent is { } parent)
            {
                outermost = parent;
            }

            return ReferenceEquals(outermost.Source, requests) || ReferenceEquals(outermost.Source, work);
        }
    }
}
