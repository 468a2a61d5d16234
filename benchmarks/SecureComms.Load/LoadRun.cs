using System.Diagnostics;

namespace SecureComms.Load;

/// <summary>What one run measured.</summary>
internal sealed record LoadResult(string Mode, string Shape, long Requests, long Errors, double Seconds, double P50Ms, double P99Ms, double P999Ms, double AllocatedBytesPerRequest, int Gen2Collections, string? FirstError)
{
    public double RequestsPerSecond => Requests / Seconds;

    /// <summary>Which round of the run this was (every mode runs once per round).</summary>
    public int Round { get; init; } = 1;
}

/// <summary>
/// Drives one endpoint with a fixed number of concurrent callers for a fixed time, recording every request's latency
/// in pre-sized arrays (no allocation by the recorder) and the process's allocated bytes over the measured window.
/// Client and server share the process and the machine: compare modes by ratio.
/// </summary>
internal static class LoadRun
{
    private const int MaxSamplesPerWorker = 1 << 21;

    public static async Task<LoadResult> RunAsync(string mode, string shape, int concurrency, TimeSpan warmup, TimeSpan duration, Func<CancellationToken, Task<bool>> call)
    {
        if (warmup > TimeSpan.Zero)
        {
            await DriveAsync(CreateWorkers(concurrency, record: false), warmup, call);
        }

        // The recorders' arrays are allocated before the window: they are neither counted as the requests' bytes nor a
        // large-object allocation (and the gen-2 collection it brings) inside the measured time.
        Worker[] workers = CreateWorkers(concurrency, record: true);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int gen2Before = GC.CollectionCount(2);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long started = Stopwatch.GetTimestamp();
        await DriveAsync(workers, duration, call);
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        int gen2 = GC.CollectionCount(2) - gen2Before;

        long requests = 0, errors = 0, samples = 0;
        string? firstError = null;
        foreach (Worker worker in workers)
        {
            requests += worker.Completed;
            errors += worker.Errors;
            samples += worker.Samples;
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
        return new LoadResult(mode, shape, requests, errors, seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), Percentile(latencies, 0.999), requests == 0 ? 0 : (double)allocated / requests, gen2, firstError);
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

        public async Task RunAsync(Func<CancellationToken, Task<bool>> call, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
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

                long elapsed = Stopwatch.GetTimestamp() - started;
                if (!ok)
                {
                    Errors++;
                    FirstError ??= "a response other than 200 ok";
                    continue;
                }

                Completed++;
                if (Samples < Latencies.Length)
                {
                    Latencies[Samples++] = elapsed;
                }
            }
        }
    }
}
