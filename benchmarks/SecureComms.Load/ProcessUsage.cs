using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SecureComms.Load;

/// <summary>
/// The process's CPU time and context switches so far. CPU time per request is steadier than requests per second on a
/// shared VM: time the hypervisor gives to other guests is not counted as this process's CPU time.
/// </summary>
internal readonly record struct ProcessUsage(TimeSpan CpuTime, long ContextSwitches)
{
    private const int RusageSelf = 0;

    /// <summary>Reads the process's usage: getrusage on Linux (with context switches), the CPU time elsewhere.</summary>
    public static ProcessUsage Read()
    {
        if (OperatingSystem.IsLinux())
        {
            // struct rusage on 64-bit Linux: ru_utime, ru_stime (timeval: seconds, microseconds), then 14 longs of which
            // the last two are voluntary and involuntary context switches.
            var usage = new long[18];
            if (NativeMethods.GetRusage(RusageSelf, usage) == 0)
            {
                long microseconds = (usage[0] * 1_000_000) + usage[1] + (usage[2] * 1_000_000) + usage[3];
                return new ProcessUsage(TimeSpan.FromMicroseconds(microseconds), usage[16] + usage[17]);
            }
        }

        using var process = Process.GetCurrentProcess();
        return new ProcessUsage(process.TotalProcessorTime, -1);
    }

    /// <summary>The usage between <paramref name="before"/> and this reading.</summary>
    public ProcessUsage Since(ProcessUsage before) =>
        new(CpuTime - before.CpuTime, ContextSwitches < 0 || before.ContextSwitches < 0 ? -1 : ContextSwitches - before.ContextSwitches);

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "getrusage", SetLastError = false)]
        public static extern int GetRusage(int who, [Out] long[] usage);
    }
}
