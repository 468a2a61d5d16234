using System.Diagnostics;

namespace SecureComms.Load.Processes;

/// <summary>
/// Client and server on different cores: the harness runs itself again under <c>taskset -c 0</c> (every thread of the
/// client, the token server and the load generator inherits it) and starts each server process under
/// <c>taskset -c 1</c>. Only where <c>taskset</c> (util-linux) is installed and the machine has two cores or more.
/// </summary>
internal static class CpuPinning
{
    /// <summary>Set in the pinned harness's environment so that it does not pin itself again.</summary>
    private const string PinnedVariable = "SECURECOMMS_LOAD_PINNED";

    public const int ClientCpu = 0;
    public const int ServerCpu = 1;

    /// <summary>The <c>taskset</c> executable, or <see langword="null"/> when it is not installed.</summary>
    public static string? Taskset { get; } = new[] { "/usr/bin/taskset", "/bin/taskset" }.FirstOrDefault(File.Exists);

    /// <summary>Whether this process is the harness already running under <c>taskset -c 0</c>.</summary>
    public static bool IsPinned => Environment.GetEnvironmentVariable(PinnedVariable) == "1";

    /// <summary>Whether pinning is possible here: Linux, <c>taskset</c>, and at least two cores to split.</summary>
    public static bool Possible => OperatingSystem.IsLinux() && Taskset is not null && (IsPinned || Environment.ProcessorCount >= 2);

    /// <summary>Runs this harness again, with the same arguments, pinned to <see cref="ClientCpu"/>; returns its exit code.</summary>
    public static async Task<int> RunPinnedAsync(string[] args)
    {
        (string program, List<string> arguments) = ServerChild.SelfCommand(args);
        var start = new ProcessStartInfo(Taskset!, ["-c", ClientCpu.ToString(System.Globalization.CultureInfo.InvariantCulture), program, .. arguments]);
        start.Environment[PinnedVariable] = "1";
        using Process pinned = Process.Start(start) ?? throw new InvalidOperationException($"{Taskset} did not start.");
        await pinned.WaitForExitAsync();
        return pinned.ExitCode;
    }
}
