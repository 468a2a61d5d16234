using System.Diagnostics;
using System.Text;
using SecureComms.Fuzzing;

// A seeded mutation fuzzer over the parsers that see attacker bytes (see README "Fuzzing the parsers").
// dotnet run -c Release --project tests/SecureComms.Fuzzing -- --inputs 100000 [--target name] [--seed N] [--minutes M]
long inputs = 100_000;
string? only = null;
int seed = 22;
double? minutes = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--inputs": inputs = long.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--target": only = args[++i]; break;
        case "--seed": seed = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--minutes": minutes = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'. Usage: --inputs N [--target name] [--seed N] [--minutes M]");
            return 2;
    }
}

List<FuzzTarget> targets = [.. Targets.All.Where(t => only is null || t.Name == only)];
if (targets.Count == 0)
{
    Console.Error.WriteLine($"no target '{only}'; targets: {string.Join(", ", Targets.All.Select(t => t.Name))}");
    return 2;
}

string corpus = Path.Combine(AppContext.BaseDirectory, "corpus");
string findings = FindingsFolder();
var watchdog = new Watchdog(TimeSpan.FromSeconds(5), findings);
var total = Stopwatch.StartNew();
TimeSpan? budget = minutes is { } m ? TimeSpan.FromMinutes(m) : null;
long perTarget = Math.Max(1, (inputs + targets.Count - 1) / targets.Count); // at least --inputs in total
long sum = 0;
int found = 0;
Console.WriteLine($"seed {seed}, {(budget is null ? $"{perTarget:N0} inputs per target" : $"{budget.Value.TotalMinutes} minutes")}, {targets.Count} targets");
for (int t = 0; t < targets.Count; t++)
{
    FuzzTarget target = targets[t];
    string folder = Path.Combine(corpus, target.Name);
    byte[][] seeds = Directory.Exists(folder) ? [.. Directory.GetFiles(folder).Order(StringComparer.Ordinal).Select(File.ReadAllBytes)] : [];
    if (seeds.Length == 0)
    {
        Console.Error.WriteLine($"{target.Name}: no seeds in {folder}");
        return 2;
    }

    var random = new Random(unchecked(seed * 31 + t));
    var mutator = new Mutator(random, seeds, [.. target.Tokens.Select(Encoding.UTF8.GetBytes)], maxLength: 20_000);
    var clock = Stopwatch.StartNew();
    TimeSpan? slice = budget / targets.Count;
    long done = 0;
    int targetFindings = 0;

    // The seeds themselves first, then mutations; a worker runs them while the watchdog looks for a hang.
    var worker = new Thread(() =>
    {
        for (long n = 0; slice is null ? n < perTarget : clock.Elapsed < slice; n++)
        {
            byte[] input = n < seeds.Length ? seeds[n] : mutator.Next();
            watchdog.Enter(target.Name, input);
            string? problem;
            try
            {
                problem = target.Run(input);
            }
            catch (Exception ex) when (Array.Exists(target.DocumentedExceptions, type => type.IsInstanceOfType(ex)))
            {
                problem = null;
            }
            catch (Exception ex)
            {
                problem = $"undocumented exception: {ex}";
            }

            watchdog.Leave();
            if (problem is not null && targetFindings < 20)
            {
                targetFindings++;
                Finding.Write(findings, target.Name, input, problem);
            }

            done = n + 1;
        }
    }, maxStackSize: 16 * 1024 * 1024)
    { IsBackground = true, Name = target.Name };
    worker.Start();
    while (!worker.Join(200))
    {
        watchdog.Check();
    }

    sum += done;
    found += targetFindings;
    Console.WriteLine($"{target.Name,-22} {done,12:N0} inputs {clock.Elapsed.TotalSeconds,7:F1} s {done / clock.Elapsed.TotalSeconds,10:N0} inputs/s  {targetFindings} findings");
}

Console.WriteLine($"{"total",-22} {sum,12:N0} inputs {total.Elapsed.TotalSeconds,7:F1} s {sum / total.Elapsed.TotalSeconds,10:N0} inputs/s  {found} findings");
if (found > 0)
{
    Console.WriteLine($"findings written to {findings}");
}

return found > 0 ? 1 : 0;

static string FindingsFolder()
{
    // tests/SecureComms.Fuzzing/findings, found from the build output (bin/<Configuration>/<tfm>/).
    for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "SecureComms.Fuzzing.csproj")))
        {
            return Path.Combine(dir.FullName, "findings");
        }
    }

    return Path.Combine(Environment.CurrentDirectory, "findings");
}

/// <summary>A finding file: the target, what went wrong, and the input (hex and, when printable, text).</summary>
internal static class Finding
{
    public static void Write(string folder, string target, byte[] input, string problem)
    {
        Directory.CreateDirectory(folder);
        string name = $"{target}-{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(input))[..16]}";
        File.WriteAllBytes(Path.Combine(folder, name + ".input"), input);
        File.WriteAllText(Path.Combine(folder, name + ".txt"), $"target: {target}\nproblem: {problem}\ninput ({input.Length} bytes, hex): {Convert.ToHexString(input)}\n");
        Console.WriteLine($"FINDING {target}: {problem.Split('\n')[0]} -> findings/{name}.input");
    }
}

/// <summary>Notices an input that runs longer than the limit: the hang is written as a finding and the run stops.</summary>
internal sealed class Watchdog(TimeSpan limit, string findings)
{
    private readonly Lock _gate = new();
    private string? _target;
    private byte[]? _input;
    private long _since;

    public void Enter(string target, byte[] input)
    {
        lock (_gate)
        {
            (_target, _input, _since) = (target, input, Stopwatch.GetTimestamp());
        }
    }

    public void Leave()
    {
        lock (_gate)
        {
            _input = null;
        }
    }

    public void Check()
    {
        lock (_gate)
        {
            if (_input is not null && Stopwatch.GetElapsedTime(_since) > limit)
            {
                Finding.Write(findings, _target!, _input, $"hang: still running after {limit.TotalSeconds} s");
                Console.WriteLine("stopping: a parser hangs");
                Environment.Exit(1);
            }
        }
    }
}
