using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project benchmarks/SecureComms.Benchmarks -- --filter '*'
// Where the bytes of one request go, stage by stage: dotnet run -c Release --project benchmarks/SecureComms.Benchmarks -- --allocations
if (args is ["--allocations"])
{
    await SecureComms.Benchmarks.Server.AllocationProbe.RunAsync();
    return;
}

// A steady loop of one pipeline mode, to profile with perf or dotnet-trace:
//   dotnet run -c Release --project benchmarks/SecureComms.Benchmarks -- --profile-pipeline FullSecureComms 30
if (args is ["--profile-pipeline", string mode, string seconds])
{
    await SecureComms.Benchmarks.Server.PipelineBenchmarks.LoopAsync(mode, TimeSpan.FromSeconds(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture)));
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

internal sealed partial class Program;
