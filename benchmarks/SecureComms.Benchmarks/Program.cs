using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project benchmarks/SecureComms.Benchmarks -- --filter '*'
// Where the bytes of one request go, stage by stage: dotnet run -c Release --project benchmarks/SecureComms.Benchmarks -- --allocations
if (args is ["--allocations"])
{
    await SecureComms.Benchmarks.Server.AllocationProbe.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

internal sealed partial class Program;
