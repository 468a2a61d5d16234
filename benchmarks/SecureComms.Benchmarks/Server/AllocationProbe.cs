using SecureComms.Benchmarks.Diagnostics;

namespace SecureComms.Benchmarks.Server;

/// <summary>
/// <c>-- --allocations</c>: bytes allocated per request by each stage of the full per-request check, measured on one
/// thread with <see cref="GC.GetAllocatedBytesForCurrentThread"/> over many iterations. Finds where the bytes go;
/// BenchmarkDotNet's memory diagnoser gives the totals.
/// </summary>
internal static class AllocationProbe
{
    private const int Iterations = 20_000;

    public static async Task RunAsync()
    {
        var bench = new FullRequestCheckBenchmarks();
        bench.Setup();
        await Measure("request object and service scope (baseline)", bench, b => b.NoSecureCommsAsync());
        await Measure("ASP.NET Core auth alone (prebuilt scheme result)", bench, b => b.FrameworkOnlyAsync());
        await Measure("+ authenticate (identity, cached JWT, cnf binding)", bench, b => b.RunAsync(FullRequestCheckBenchmarks.Stage.Authentication));
        await Measure("+ authorize (central policy)", bench, b => b.RunAsync(FullRequestCheckBenchmarks.Stage.Authorization));
        await Measure("+ recorded decision (the full check)", bench, b => b.RunAsync(FullRequestCheckBenchmarks.Stage.Decision));
        bench.Cleanup();
    }

    private static async Task Measure(string stage, FullRequestCheckBenchmarks bench, Func<FullRequestCheckBenchmarks, Task<bool>> step)
    {
        for (int i = 0; i < 1000; i++)
        {
            if (!await step(bench))
            {
                throw new InvalidOperationException($"{stage}: the request was not allowed; the setup is wrong.");
            }
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Iterations; i++)
        {
            await step(bench);
        }

        long perOp = (GC.GetAllocatedBytesForCurrentThread() - before) / Iterations;
        Console.WriteLine($"{stage,-55} {perOp,6} B/request");
        if (Environment.GetEnvironmentVariable("SECURECOMMS_ALLOCATION_TYPES") == "1")
        {
            using var sampler = new AllocationSampler();
            for (int i = 0; i < Iterations * 10; i++)
            {
                await step(bench);
            }

            foreach (string line in sampler.Top(15))
            {
                Console.WriteLine(line);
            }
        }
    }
}
