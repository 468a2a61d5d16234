using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project benchmarks/SecureComms.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

internal sealed partial class Program;
