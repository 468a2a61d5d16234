using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace SecureComms.Benchmarks.Diagnostics;

/// <summary>The runtime's allocation sampling (one event per ~100 KB allocated, with the type that crossed it).</summary>
internal sealed class AllocationSampler : EventListener
{
    public ConcurrentDictionary<string, int> Samples { get; } = new();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && e.PayloadNames is { } names)
        {
            int index = names.IndexOf("TypeName");
            if (index >= 0 && e.Payload![index] is string type)
            {
                Samples.AddOrUpdate(type, 1, (_, n) => n + 1);
            }
        }
    }

    /// <summary>The most sampled types, most first, as printable lines.</summary>
    public IEnumerable<string> Top(int count) =>
        Samples.OrderByDescending(p => p.Value).Take(count).Select(p => $"    {p.Value,5} samples  {p.Key}");
}
