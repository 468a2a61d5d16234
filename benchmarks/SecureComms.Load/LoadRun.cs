using System.Diagnostics;

namespace SecureComms.Load;

/// <summary>What one run measured.</summary>
internal sealed record LoadResult(string Mode, string Shape, long Requests, long Errors, double Seconds, double P50Ms, double P99Ms, double P999Ms, double AllocatedBytesPerRequest, int Gen2Collections, string? FirstError)
{
    public double RequestsPerSecond => Requests / Seconds;

    /// <summary>The process's CPU time (client, server, Kestrel, kernel on its behalf) per request, in microseconds.</summary>
    public double CpuMicrosecondsPerRequest { get; init; }

    /// <summary>The process's context switches per request; negative where the platform does not say.</summary>
    public double ContextSwitchesPerRequest { get; init; }

    /// <summary>Which round of the run this was (every mode runs once per round).</summary>
    public int Round { get; init; } = 1;

    /// <summary>Fixed-rate runs: requests that started more than one interval behind their schedule.</summary>
    public long LateStarts { get; init; }

    /// <summary>
    /// Modes with proxies in other processes (the sidecar mode's nginx pair): their CPU time per request, in microseconds,
    /// already included in <see cref="CpuMicrosecondsPerRequest"/>; negative when the mode has none.
    /// </summary>
    public double ProxyCpuMicrosecondsPerRequest { get; init; } = -1;

    /// <summary>
    /// The separate-process run's sidecar mode: the nginx pair's CPU time per request, in microseconds, already included in
    /// <see cref="ProxyCpuMicrosecondsPerRequest"/> (the server side there); negative otherwise.
    /// </summary>
    public double SidecarCpuMicrosecondsPerRequest { get; init; } = -1;

    /// <summary>
    /// The share of the machine's CPU time the hypervisor gave to other guests during the window (steal, from
    /// <c>/proc/stat</c>), in percent; negative where the platform does not say. A noisy neighbour shows here.
    /// </summary>
    public double StealPercent { get; init; } = -1;
}

/// <summary>
/// Drives one endpoint with a fixed number of concurrent callers for a fixed time, recording every request's latency
/// in pre-sized arrays (no allocation by the recorder) and the process's allocated bytes over the measured window.
/// Client and server share the process and the machine: compare modes by ratio.
/// </summary>
internal static class LoadRun
{
    private const int MaxSamplesPerWorker = 1 << 21;

    /// <param name="proxies">
    /// The usage of other processes in the request path (the sidecar mode's nginx processes), added to this process's
    /// CPU time and context switches over the measured window; <see langword="null"/> when there are none.
    /// </param>
    public static async Task<LoadResult> RunAsync(string mode, string shape, int concurrency, TimeSpan warmup, TimeSpan duration, Func<CancellationToken, Task<bool>> call, Func<ProcessUsage>? proxies = null)
    {
        if (warmup > TimeSpan.Zero)
        {
            await DriveAsync(CreateWorkers(concurrency, record: false), warmup, call);
        }

        return await MeasureAsync(mode, shape, concurrency, workers => DriveAsync(workers, duration, call), proxies);
    }

    /// <summary>
    /// Drives one endpoint at a fixed rate below saturation, as the published mesh latency figures are measured (for
    /// example 1,000 requests/s over 16 connections): each of <paramref name="callers"/> sends on its own schedule, so
    /// the latency is the request's own cost, not time spent queueing behind other callers. A request that starts more
    /// than one interval behind its schedule is counted as late (the machine could not keep the rate).
    /// </summary>
    public static async Task<LoadResult> RunAtRateAsync(string mode, string shape, int callers, double requestsPerSecond, TimeSpan warmup, TimeSpan duration, Func<CancellationToken, Task<bool>> call, Func<ProcessUsage>? proxies = null)
    {
        if (warmup > TimeSpan.Zero)
        {
            await DriveAtRateAsync(CreateWorkers(callers, record: false), requestsPerSecond, warmup, call);
        }

        return await MeasureAsync(mode, shape, callers, workers => DriveAtRateAsync(workers, requestsPerSecond, duration, call), proxies);
    }

    private static async Task<LoadResult> MeasureAsync(string mode, string shape, int callers, Func<Worker[], Task> drive, Func<ProcessUsage>? proxies)
    {
        // The recorders' arrays are allocated before the window: they are neither counted as the requests' bytes nor a
        // large-object allocation (and the gen-2 collection it brings) inside the measured time.
        Worker[] workers = CreateWorkers(callers, record: true);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int gen2Before = GC.CollectionCount(2);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        ProcessUsage usageBefore = ProcessUsage.Read();
        MachineTime machineBefore = MachineTime.Read();
        ProcessUsage? proxiesBefore = proxies?.Invoke();
        Console.Error.WriteLine($"measuring: {shape} | {mode}"); // progress, and the cue profile-load.sh starts perf on
        long started = Stopwatch.GetTimestamp();
        await drive(workers);
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        ProcessUsage usage = ProcessUsage.Read().Since(usageBefore);
        double steal = MachineTime.Read().StealShareSince(machineBefore);
        ProcessUsage? proxyUsage = proxies?.Invoke().Since(proxiesBefore!.Value);
        if (proxyUsage is { } inProxies)
        {
            usage += inProxies;
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        int gen2 = GC.CollectionCount(2) - gen2Before;

        LoadResult result = Summarise(mode, shape, workers, seconds, allocated, gen2);
        return result with
        {
            CpuMicrosecondsPerRequest = result.Requests == 0 ? 0 : usage.CpuTime.TotalMicroseconds / result.Requests,
            StealPercent = steal * 100,
            ContextSwitchesPerRequest = result.Requests == 0 || usage.ContextSwitches < 0 ? -1 : (double)usage.ContextSwitches / result.Requests,
            ProxyCpuMicrosecondsPerRequest = proxyUsage is not { } proxy ? -1 : result.Requests == 0 ? 0 : proxy.CpuTime.TotalMicroseconds / result.Requests,
        };
    }

    private static Worker[] CreateWorkers(int concurrency, bool record)
    {
        var workers = new Worker[concurrency];
        for (int i = 0; i < concurrency; i++)
        {
            workers[i] = new Worker(record ? MaxSamplesPerWorker / Math.Max(1, concurrency / 8) : 0);
        }

        return workers;
    }

    private static LoadResult Summarise(string mode, string shape, Worker[] workers, double seconds, long allocated, int gen2)
    {
        long requests = 0, errors = 0, samples = 0, late = 0;
        string? firstError = null;
        foreach (Worker worker in workers)
        {
            requests += worker.Completed;
            errors += worker.Errors;
            samples += worker.Samples;
            late += worker.LateStarts;
            firstError ??= worker.FirstError;
        }

        var latencies = new long[samples];
        int offset = 0;
        foreach (Worker worker in workers)
        {
            Array.Copy(worker.Latencies, 0, latencies, offset, worker.Samples);
            offset += worker.Samples;
        }

        Array.Sort(latencies);
        return new LoadResult(mode, shape, requests, errors, seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), Percentile(latencies, 0.999), requests == 0 ? 0 : (double)allocated / requests, gen2, firstError) { LateStarts = late };
    }

    private static async Task DriveAtRateAsync(Worker[] workers, double requestsPerSecond, TimeSpan duration, Func<CancellationToken, Task<bool>> call)
    {
        // Each caller sends every callers/rate seconds; the callers' schedules are spread evenly over one interval.
        long interval = (long)(Stopwatch.Frequency * workers.Length / requestsPerSecond);
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = new Task[workers.Length];
        for (int i = 0; i < workers.Length; i++)
        {
            Worker worker = workers[i];
            long first = start + (interval * i / workers.Length);
            tasks[i] = Task.Run(() => worker.RunOnScheduleAsync(call, first, interval, end));
        }

        await Task.WhenAll(tasks);
    }

    private static async Task DriveAsync(Worker[] workers, TimeSpan duration, Func<CancellationToken, Task<bool>> call)
    {
        using var stop = new CancellationTokenSource(duration);
        var tasks = new Task[workers.Length];
        for (int i = 0; i < workers.Length; i++)
        {
            Worker worker = workers[i];
            tasks[i] = Task.Run(() => worker.RunAsync(call, stop.Token));
        }

        await Task.WhenAll(tasks);
    }

    private static double Percentile(long[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : Stopwatch.GetElapsedTime(0, sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)]).TotalMilliseconds;

    private sealed class Worker(int capacity)
    {
        public long[] Latencies { get; } = new long[capacity];

        public int Samples { get; private set; }

        public long Completed { get; private set; }

        public long Errors { get; private set; }

        public string? FirstError { get; private set; }

        public long LateStarts { get; private set; }

        public async Task RunOnScheduleAsync(Func<CancellationToken, Task<bool>> call, long first, long interval, long end)
        {
            for (long due = first; due < end; due += interval)
            {
                long wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency)).ConfigureAwait(false);
                }
                else if (-wait > interval)
                {
                    LateStarts++;
                }

                await SendOnceAsync(call).ConfigureAwait(false);
            }
        }

        public async Task RunAsync(Func<CancellationToken, Task<bool>> call, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                await SendOnceAsync(call).ConfigureAwait(false);
            }
        }

        private async Task SendOnceAsync(Func<CancellationToken, Task<bool>> call)
        {
            long started = Stopwatch.GetTimestamp();
            bool ok;
            try
            {
                ok = await call(CancellationToken.None).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                ok = false;
                FirstError ??= ex.Message;
            }
            catch (Grpc.Core.RpcException ex)
            {
                // The gRPC modes: a call that ends with any status but OK.
                ok = false;
                FirstError ??= $"gRPC status {ex.StatusCode}: {ex.Status.Detail}";
            }

            long elapsed = Stopwatch.GetTimestamp() - started;
            if (!ok)
            {
                Errors++;
                FirstError ??= "a response other than 200 ok";
                return;
            }

            Completed++;
            if (Samples < Latencies.Length)
            {
                Latencies[Samples++] = elapsed;
            }
        }
    }
}
