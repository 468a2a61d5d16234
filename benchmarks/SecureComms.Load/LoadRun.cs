using System.Diagnostics;

namespace SecureComms.Load;

/// <summary>What one run measured.</summary>
internal sealed record LoadResult(string Mode, string Shape, long Requests, long Errors, double Seconds, double P50Ms, double P99Ms, double P999Ms, double AllocatedBytesPerRequest, string? FirstError)
{
    public double RequestsPerSecond => Requests / Seconds;
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
            await DriveAsync(concurrency, warmup, call, record: false);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long started = Stopwatch.GetTimestamp();
        Worker[] workers = await DriveAsync(concurrency, duration, call, record: true);
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

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
        return new LoadResult(mode, shape, requests, errors, seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), Percentile(latencies, 0.999), requests == 0 ? 0 : (double)allocated / requests, firstError);
    }

    private static async Task<Worker[]> DriveAsync(int concurrency, TimeSpan duration, Func<CancellationToken, Task<bool>> call, bool record)
    {
        using var stop = new CancellationTokenSource(duration);
        var workers = new Worker[concurrency];
        var tasks = new Task[concurrency];
        for (int i = 0; i < concurrency; i++)
        {
            workers[i] = new Worker(record ? MaxSamplesPerWorker / Math.Max(1, concurrency / 8) : 0);
            Worker worker = workers[i];
            tasks[i] = Task.Run(() => worker.RunAsync(call, stop.Token));
        }

        await Task.WhenAll(tasks);
        return workers;
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
