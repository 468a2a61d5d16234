using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;

namespace SecureComms.Load.Processes;

/// <summary>
/// The separate-process run's report (Markdown): the loads with each side's CPU per request, the issue's ratios with
/// their targets, resident memory per mode, and the cold path with the spans of the first request.
/// </summary>
internal static class SeparateProcessesReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Write(List<LoadResult> results, List<ModeMemory> memory, List<ColdPath> coldPaths, SeparateProcessesSettings settings, int serverProcessors, string? sidecarSkipped)
    {
        var text = new StringBuilder();
        int rounds = results.Count == 0 ? 0 : results.Max(r => r.Round);
        string placement = settings.Pinned
            ? $"the harness (load client, clients, token server) pinned to CPU {CpuPinning.ClientCpu} and each server process to CPU {CpuPinning.ServerCpu} with taskset (the server saw {serverProcessors} processor(s)); the sidecar mode's client nginx worker on the client's CPU, its server nginx worker on the server's"
            : "client and server processes not pinned";
        text.AppendLine(Invariant, $"Machine: {Environment.ProcessorCount} core(s) seen by the harness, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC; each server mode in its own process, started afresh for each mode and round; {placement}; {rounds} round(s), medians.");
        text.AppendLine();
        text.AppendLine("| load | mode | requests/s | p50 ms | p99 ms | p99.9 ms | client CPU µs/request | server CPU µs/request | CPU stolen % | requests/s vs mTLS only | p99 vs mTLS only | CPU/request vs mTLS only |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (IGrouping<(string Shape, string Mode), LoadResult> runs in results.GroupBy(r => (r.Shape, r.Mode)))
        {
            List<double> ratios = PerRound(results, runs.Key.Shape, runs.Key.Mode, SeparateProcessesRun.MutualTlsOnly, (a, b) => a.RequestsPerSecond / b.RequestsPerSecond);
            List<double> p99 = PerRound(results, runs.Key.Shape, runs.Key.Mode, SeparateProcessesRun.MutualTlsOnly, (a, b) => a.P99Ms - b.P99Ms);
            List<double> cpu = PerRound(results, runs.Key.Shape, runs.Key.Mode, SeparateProcessesRun.MutualTlsOnly, (a, b) => a.CpuMicrosecondsPerRequest - b.CpuMicrosecondsPerRequest);
            text.AppendLine(Invariant, $"| {runs.Key.Shape} | {runs.Key.Mode} | {Statistics.Median(runs.Select(r => r.RequestsPerSecond)):0} | {Statistics.Median(runs.Select(r => r.P50Ms)):0.000} | {Statistics.Median(runs.Select(r => r.P99Ms)):0.000} | {Statistics.Median(runs.Select(r => r.P999Ms)):0.000} | {Statistics.Median(runs.Select(r => r.CpuMicrosecondsPerRequest - r.ProxyCpuMicrosecondsPerRequest)):0.0} | {Statistics.Median(runs.Select(r => r.ProxyCpuMicrosecondsPerRequest)):0.0} | {Statistics.Median(runs.Select(r => r.StealPercent)):0.0} ({runs.Min(r => r.StealPercent):0.0}–{runs.Max(r => r.StealPercent):0.0}) | {Ratio(ratios)} | {Signed(p99, "0.000")} ms | {Signed(cpu, "0.0")} µs |");
        }

        text.AppendLine();
        text.AppendLine(Invariant, $"{results.Sum(r => r.Requests)} requests in {results.Count} runs, {(results.Sum(r => r.Errors) is 0 ? "none failed" : $"{results.Sum(r => r.Errors)} failed")}. Server CPU is the server process's (and in the sidecar mode both nginx processes') from /proc in clock ticks; client CPU is this process's (load client, clients, token server) from getrusage. CPU stolen is the share of the machine's CPU time the hypervisor gave to other guests during the window (/proc/stat; median and range over rounds): where it is high, the round's requests/s say more about the neighbours than about the mode.");
        foreach (IGrouping<string, LoadResult> proxied in results.Where(r => r.SidecarCpuMicrosecondsPerRequest >= 0).GroupBy(r => r.Shape))
        {
            text.AppendLine(Invariant, $"Sidecar mode, {proxied.Key}: the nginx pair's CPU per request, {Statistics.Median(proxied.Select(r => r.SidecarCpuMicrosecondsPerRequest)):0.0} µs, is inside its server CPU.");
        }

        if (sidecarSkipped is not null)
        {
            text.AppendLine(Invariant, $"Sidecar mode skipped: {sidecarSkipped}.");
        }

        text.AppendLine();
        text.AppendLine("Against the targets (ratios taken within each round, median and range over rounds):");
        text.AppendLine();
        foreach (string shape in results.Select(r => r.Shape).Distinct())
        {
            WriteTargets(text, results, shape);
        }

        WriteMemory(text, memory);
        WriteColdPaths(text, coldPaths);
        return text.ToString();
    }

    private static void WriteTargets(StringBuilder text, List<LoadResult> results, string shape)
    {
        var lines = new List<string>();
        bool paced = shape.Contains("fixed", StringComparison.Ordinal);
        foreach ((string other, string name, double target) in new[] { (SeparateProcessesRun.ByHand, "by-hand", 1.5), (SeparateProcessesRun.Sidecar, "the sidecar hop", 1.4), (SeparateProcessesRun.TrivialScheme, "the trivial scheme", 0.97) })
        {
            List<double> ratios = PerRound(results, shape, SeparateProcessesRun.FullSecureComms, other, (a, b) => a.RequestsPerSecond / b.RequestsPerSecond);
            if (ratios.Count == 0)
            {
                continue;
            }

            List<double> p50 = PerRound(results, shape, SeparateProcessesRun.FullSecureComms, other, (a, b) => a.P50Ms - b.P50Ms);
            List<double> p99 = PerRound(results, shape, SeparateProcessesRun.FullSecureComms, other, (a, b) => a.P99Ms - b.P99Ms);
            string latency = $"p50 {Signed(p50, "0.000")} ms, p99 {Signed(p99, "0.000")} ms against it";
            lines.Add(paced
                ? $"full SecureComms against {name}: {latency}"
                : $"full SecureComms {Ratio(ratios)} the requests/s of {name} (target ≥ {target:0.0#}×: {(Statistics.Median(ratios) >= target ? "met" : "missed")}); {latency}");
        }

        List<double> fullAdded = PerRound(results, shape, SeparateProcessesRun.FullSecureComms, SeparateProcessesRun.MutualTlsOnly, (a, b) => a.CpuMicrosecondsPerRequest - b.CpuMicrosecondsPerRequest);
        List<double> sidecarAdded = PerRound(results, shape, SeparateProcessesRun.Sidecar, SeparateProcessesRun.MutualTlsOnly, (a, b) => a.CpuMicrosecondsPerRequest - b.CpuMicrosecondsPerRequest);
        if (!paced && fullAdded.Count > 0 && sidecarAdded.Count > 0)
        {
            double full = Statistics.Median(fullAdded), sidecar = Statistics.Median(sidecarAdded);
            lines.Add($"CPU per request added over mTLS only (client + server + proxies): full SecureComms {full:+0.0;-0.0} µs, the sidecar pair {sidecar:+0.0;-0.0} µs, {(sidecar > 0 ? (full / sidecar).ToString("0.000", Invariant) : "—")} of it (target ≤ 1/8 = 0.125: {(sidecar > 0 && full <= sidecar / 8 ? "met" : "missed")})");
        }

        if (lines.Count > 0)
        {
            text.AppendLine(Invariant, $"- {shape}: {string.Join("; ", lines)}.");
        }
    }

    private static void WriteMemory(StringBuilder text, List<ModeMemory> memory)
    {
        if (memory.Count == 0)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine("Resident memory of each server process (VmRSS) right after its runs and after a full compacting GC, with what is resident then (RssAnon: heaps and stacks; RssFile: the runtime and the assemblies mapped, shareable page cache; RssShmem: with .NET's W^X default, the JIT-compiled code), medians over rounds, MB:");
        text.AppendLine();
        text.AppendLine("| mode | after the runs | vs mTLS only (range) | after a full GC | vs mTLS only (range) | anonymous | file-backed | shared (compiled code) | managed heap | GC committed | assemblies loaded | methods compiled | nginx pair (4 processes) |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (IGrouping<string, ModeMemory> mode in memory.GroupBy(m => m.Mode))
        {
            var deltas = new List<double>();
            var collectedDeltas = new List<double>();
            foreach (ModeMemory round in mode)
            {
                if (memory.Find(m => m.Mode == SeparateProcessesRun.MutualTlsOnly && m.Round == round.Round) is { } baseline)
                {
                    deltas.Add(Megabytes(round.AfterRuns.Resident - baseline.AfterRuns.Resident));
                    collectedDeltas.Add(Megabytes(round.AfterCollection.Resident - baseline.AfterCollection.Resident));
                }
            }

            string proxies = mode.Any(m => m.ProxiesResident >= 0) ? Statistics.Median(mode.Select(m => Megabytes(m.ProxiesResident))).ToString("0.0", Invariant) : "—";
            text.AppendLine(Invariant, $"| {mode.Key} | {Statistics.Median(mode.Select(m => Megabytes(m.AfterRuns.Resident))):0.0} | {Signed(deltas, "0.0")}{Range(deltas)} | {Statistics.Median(mode.Select(m => Megabytes(m.AfterCollection.Resident))):0.0} | {Signed(collectedDeltas, "0.0")}{Range(collectedDeltas)} | {Statistics.Median(mode.Select(m => Megabytes(m.AfterCollection.Anonymous))):0.0} | {Statistics.Median(mode.Select(m => Megabytes(m.AfterCollection.FileBacked))):0.0} | {Statistics.Median(mode.Select(m => Megabytes(m.AfterCollection.SharedMemory))):0.0} | {Statistics.Median(mode.Select(m => Megabytes(m.HeapAfterCollection))):0.0} | {Statistics.Median(mode.Select(m => Megabytes(m.CommittedAfterCollection))):0.0} | {Statistics.Median(mode.Select(m => (double)m.Assemblies)):0} | {Statistics.Median(mode.Select(m => (double)m.CompiledMethods)):0} | {proxies} |");
        }
    }

    private static void WriteColdPaths(StringBuilder text, List<ColdPath> coldPaths)
    {
        if (coldPaths.Count == 0)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine("Cold path, from asking the OS to start the server process (a new process per mode and round) to the answer of its first request; the first request comes from a new client (no connection, no token; this process's code already warm: round 1 is left out when there are more), medians over rounds, ms:");
        text.AppendLine();
        text.AppendLine("| mode | to Main | to SVID loaded | to listening | first request | start to first answer | first request accepted |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        // Round 1's first request is also this process's first of its kind (its own code still cold): left out when there are more.
        List<ColdPath> counted = coldPaths.Any(c => c.Round > 1) ? coldPaths.FindAll(c => c.Round > 1) : coldPaths;
        foreach (IGrouping<string, ColdPath> mode in counted.GroupBy(c => c.Mode))
        {
            text.AppendLine(Invariant, $"| {mode.Key} | {Statistics.Median(mode.Select(c => c.MillisecondsTo("main"))):0.0} | {Statistics.Median(mode.Select(c => c.MillisecondsTo("loaded"))):0.0} | {Statistics.Median(mode.Select(c => c.MillisecondsTo("listening"))):0.0} | {Statistics.Median(mode.Select(c => c.FirstRequest.TotalMilliseconds)):0.0} | {Statistics.Median(mode.Select(c => c.MillisecondsToFirstAnswer)):0.0} | {mode.Count(c => c.Accepted)} of {mode.Count()} |");
        }

        foreach (IGrouping<string, ColdPath> mode in coldPaths.GroupBy(c => c.Mode))
        {
            ColdPath last = mode.MaxBy(c => c.Round)!;
            double sent = (last.FirstRequestUtc - last.StartedUtc).TotalMilliseconds;
            text.AppendLine();
            text.AppendLine(Invariant, $"{mode.Key}, round {last.Round}: the spans on both sides, ms from the process start request (the first request was sent at {sent:0.0} and answered {last.FirstRequest.TotalMilliseconds:0.0} later):");
            text.AppendLine();
            text.AppendLine("| start | duration | side: source | span |");
            text.AppendLine("|---:|---:|---|---|");
            foreach (ServerEvent span in last.Spans)
            {
                text.AppendLine(Invariant, $"| {(span.StartUtc - last.StartedUtc).TotalMilliseconds:0.0} | {span.Duration.TotalMilliseconds:0.00} | {span.Source} | {span.Name} |");
            }
        }
    }

    /// <summary>For each round where both ran: <paramref name="measure"/>(mode's run, other's run).</summary>
    private static List<double> PerRound(List<LoadResult> results, string shape, string mode, string other, Func<LoadResult, LoadResult, double> measure)
    {
        var values = new List<double>();
        foreach (LoadResult run in results.Where(r => r.Shape == shape && r.Mode == mode))
        {
            if (results.Find(r => r.Shape == shape && r.Mode == other && r.Round == run.Round) is { } baseline)
            {
                values.Add(measure(run, baseline));
            }
        }

        return values;
    }

    private static string Ratio(List<double> ratios) =>
        ratios.Count == 0 ? "—" : Statistics.Median(ratios).ToString("0.00", Invariant) + "×" + (ratios.Count > 1 ? $" ({ratios.Min().ToString("0.00", Invariant)}–{ratios.Max().ToString("0.00", Invariant)})" : string.Empty);

    private static string Signed(List<double> values, string format)
    {
        if (values.Count == 0)
        {
            return "—";
        }

        double median = Statistics.Median(values);
        return (median >= 0 ? "+" : string.Empty) + median.ToString(format, Invariant);
    }

    private static string Range(List<double> values) =>
        values.Count < 2 ? string.Empty : $" ({values.Min().ToString("+0.0;-0.0", Invariant)} to {values.Max().ToString("+0.0;-0.0", Invariant)})";

    private static double Megabytes(long bytes) => bytes / (1024.0 * 1024.0);
}

/// <summary>Medians, as every table of the harness reports them.</summary>
internal static class Statistics
{
    public static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
