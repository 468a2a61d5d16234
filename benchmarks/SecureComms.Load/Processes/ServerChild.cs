using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace SecureComms.Load.Processes;

/// <summary>
/// A <see cref="ServerProcess"/> started by the harness: this executable again with <c>--serve</c>, optionally pinned to
/// one CPU with <c>taskset</c>. Keeps every event line it writes, knows its addresses once it is ready, reads its CPU
/// time and resident memory from <c>/proc</c>, and stops it by closing its standard input.
/// </summary>
internal sealed class ServerChild : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly List<ServerEvent> _events = [];
    private readonly TaskCompletionSource<ServerEvent> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reading;
    private readonly System.Text.StringBuilder _errors = new();

    private ServerChild(Process process, DateTime startedUtc)
    {
        _process = process;
        StartedUtc = startedUtc;
        _reading = ReadAsync();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_errors)
                {
                    _errors.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
    }

    /// <summary>When the harness asked the operating system to start the process (UTC).</summary>
    public DateTime StartedUtc { get; }

    public Uri Address { get; private set; } = null!;

    /// <summary>The plaintext listener of a server behind a proxy.</summary>
    public Uri? PlaintextAddress { get; private set; }

    /// <summary>The processors the server process may run on, as it sees them.</summary>
    public int Processors { get; private set; }

    public int Id => _process.Id;

    /// <summary>
    /// Starts <paramref name="kind"/> and waits until it listens. <paramref name="cpu"/> pins it (and every thread it
    /// starts) to that CPU with <c>taskset -c</c>; <see langword="null"/> leaves it free.
    /// </summary>
    public static async Task<ServerChild> StartAsync(string kind, string material, Uri tokenIssuer, string audience, SpiffeId caller, int? cpu)
    {
        (string program, List<string> arguments) = SelfCommand(["--serve", kind, "--material", material, "--issuer", tokenIssuer.ToString(), "--audience", audience, "--caller", caller.ToString()]);
        if (cpu is { } pinned)
        {
            arguments.InsertRange(0, ["-c", pinned.ToString(CultureInfo.InvariantCulture), program]);
            program = CpuPinning.Taskset ?? throw new InvalidOperationException("taskset is not installed.");
        }

        var start = new ProcessStartInfo(program, arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        DateTime startedUtc = DateTime.UtcNow;
        var child = new ServerChild(Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start."), startedUtc);
        Task finished = await Task.WhenAny(child._ready.Task, Task.Delay(StartTimeout));
        if (finished != child._ready.Task || !child._ready.Task.IsCompletedSuccessfully)
        {
            await child.DisposeAsync();
            throw new InvalidOperationException($"The {kind} server process did not become ready within {StartTimeout.TotalSeconds:0} s ({program} {string.Join(' ', arguments)}): {child.Errors}");
        }

        ServerEvent ready = await child._ready.Task;
        child.Address = new Uri(ready.Source);
        string[] rest = ready.Name.Split(' ');
        child.PlaintextAddress = rest[0] == "-" ? null : new Uri(rest[0]);
        child.Processors = int.Parse(rest[1], CultureInfo.InvariantCulture);
        return child;
    }

    /// <summary>The command that runs this harness again: the app host, or <c>dotnet</c> and the assembly.</summary>
    public static (string Program, List<string> Arguments) SelfCommand(IEnumerable<string> arguments)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("The harness's own path is unknown.");
        var all = new List<string>();
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            all.Add(Assembly.GetEntryAssembly()!.Location);
        }

        all.AddRange(arguments);
        return (host, all);
    }

    /// <summary>The events the process wrote so far (marks and spans; times in UTC).</summary>
    public IReadOnlyList<ServerEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    /// <summary>
    /// Asks the process for a full compacting collection and waits for its answer: the managed heap's bytes after it, the
    /// bytes the GC keeps committed, the assemblies loaded and the methods compiled so far.
    /// </summary>
    public async Task<(long HeapBytes, long CommittedBytes, int Assemblies, long CompiledMethods)> CollectAsync()
    {
        int before = Events.Count(e => e.Source == "collected");
        await _process.StandardInput.WriteLineAsync("collect");
        await _process.StandardInput.FlushAsync();
        long deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            List<ServerEvent> collected = [.. Events.Where(e => e.Source == "collected")];
            if (collected.Count > before)
            {
                string[] values = collected[^1].Name.Split(' ');
                return (long.Parse(values[0], CultureInfo.InvariantCulture), long.Parse(values[1], CultureInfo.InvariantCulture), int.Parse(values[2], CultureInfo.InvariantCulture), long.Parse(values[3], CultureInfo.InvariantCulture));
            }

            await Task.Delay(20);
        }

        throw new InvalidOperationException("The server process did not answer a collection request within 30 s.");
    }

    /// <summary>The process's CPU time and context switches so far (<c>/proc</c>, clock ticks).</summary>
    public ProcessUsage ReadUsage() => ProcessUsage.ReadProcesses([_process.Id]);

    /// <summary>The process's resident memory (<see cref="ProcessUsage.ReadMemory"/>).</summary>
    public MemoryReading ReadMemory() => ProcessUsage.ReadMemory([_process.Id]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(exit.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        await _reading;
        _process.Dispose();
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (ServerEvent.Parse(line) is not { } parsed)
            {
                continue;
            }

            if (parsed.Kind == "ready")
            {
                _ready.TrySetResult(parsed);
                continue;
            }

            lock (_events)
            {
                _events.Add(parsed);
            }
        }

        _ready.TrySetException(new InvalidOperationException("The server process ended before it was ready."));
    }
}
