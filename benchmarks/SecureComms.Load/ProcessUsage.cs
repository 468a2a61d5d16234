using System.Diagnostics;
using System.Globalization;
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

    /// <summary>
    /// Other processes' usage summed (Linux only): <c>utime + stime</c> from <c>/proc/&lt;pid&gt;/stat</c> (in clock ticks,
    /// usually 10 ms) and the voluntary and involuntary context switches from <c>/proc/&lt;pid&gt;/status</c>. A process
    /// that is gone counts as nothing.
    /// </summary>
    public static ProcessUsage ReadProcesses(IEnumerable<int> processIds)
    {
        long ticksPerSecond = NativeMethods.SysConf(NativeMethods.ClockTicksName);
        long ticks = 0, switches = 0;
        foreach (int id in processIds)
        {
            if (ProcStat(id) is not { } stat)
            {
                continue;
            }

            ticks += stat.UserTicks + stat.SystemTicks;
            try
            {
                foreach (string line in File.ReadLines($"/proc/{id}/status"))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        switches += long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // the process ended between the two reads
            }
        }

        return new ProcessUsage(TimeSpan.FromSeconds((double)ticks / ticksPerSecond), switches);
    }

    /// <summary>
    /// Other processes' resident memory summed (Linux only), in bytes, from <c>/proc/&lt;pid&gt;/status</c>: <c>VmRSS</c>
    /// (now), <c>VmHWM</c> (the peak), and of the resident memory <c>RssAnon</c> (heaps, stacks, JIT-compiled code) and
    /// <c>RssFile</c> (mapped files: the runtime, the assemblies) and <c>RssShmem</c> (shared memory: with .NET's W^X
    /// default, the JIT-compiled code, mapped twice). A process that is gone counts as nothing.
    /// </summary>
    public static MemoryReading ReadMemory(IEnumerable<int> processIds)
    {
        long resident = 0, peak = 0, anonymous = 0, fileBacked = 0, shared = 0;
        foreach (int id in processIds)
        {
            try
            {
                foreach (string line in File.ReadLines($"/proc/{id}/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        resident += Kilobytes(line) * 1024;
                    }
                    else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    {
                        peak += Kilobytes(line) * 1024;
                    }
                    else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                    {
                        anonymous += Kilobytes(line) * 1024;
                    }
                    else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
                    {
                        fileBacked += Kilobytes(line) * 1024;
                    }
                    else if (line.StartsWith("RssShmem:", StringComparison.Ordinal))
                    {
                        shared += Kilobytes(line) * 1024;
                    }
                }
            }
            catch (IOException)
            {
                // the process ended
            }
        }

        return new MemoryReading(resident, peak, anonymous, fileBacked, shared);

        // "VmRSS:\t  123456 kB"
        static long Kilobytes(string line) =>
            long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>The processes whose parent is <paramref name="parentId"/> (e.g. nginx's workers under its master).</summary>
    public static List<int> ChildProcesses(int parentId)
    {
        var children = new List<int>();
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out int id) && ProcStat(id) is { } stat && stat.ParentId == parentId)
            {
                children.Add(id);
            }
        }

        return children;
    }

    /// <summary><c>/proc/&lt;pid&gt;/stat</c>: fields after the parenthesised command name (which may hold spaces).</summary>
    private static (int ParentId, long UserTicks, long SystemTicks)? ProcStat(int id)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{id}/stat");
        }
        catch (IOException)
        {
            return null;
        }

        // proc(5): after "pid (comm) " come state (3), ppid (4), ..., utime (14), stime (15).
        string[] fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (int.Parse(fields[1], CultureInfo.InvariantCulture), long.Parse(fields[11], CultureInfo.InvariantCulture), long.Parse(fields[12], CultureInfo.InvariantCulture));
    }

    /// <summary>Two readings added (a client and a server process, or a process and its proxies).</summary>
    public static ProcessUsage operator +(ProcessUsage left, ProcessUsage right) =>
        new(left.CpuTime + right.CpuTime, left.ContextSwitches < 0 || right.ContextSwitches < 0 ? -1 : left.ContextSwitches + right.ContextSwitches);

    /// <summary>The usage between <paramref name="before"/> and this reading.</summary>
    public ProcessUsage Since(ProcessUsage before) =>
        new(CpuTime - before.CpuTime, ContextSwitches < 0 || before.ContextSwitches < 0 ? -1 : ContextSwitches - before.ContextSwitches);

    private static class NativeMethods
    {
        public const int ClockTicksName = 2; // _SC_CLK_TCK

        [DllImport("libc", EntryPoint = "getrusage", SetLastError = false)]
        public static extern int GetRusage(int who, [Out] long[] usage);

        [DllImport("libc", EntryPoint = "sysconf", SetLastError = false)]
        public static extern long SysConf(int name);
    }
}

/// <summary>Resident memory in bytes: now, at the peak, and of it anonymous, file-backed and shared memory.</summary>
internal readonly record struct MemoryReading(long Resident, long Peak, long Anonymous, long FileBacked, long SharedMemory);

/// <summary>The whole machine's CPU time so far from <c>/proc/stat</c> (Linux), in clock ticks: all of it, and stolen.</summary>
internal readonly record struct MachineTime(long Total, long Steal)
{
    /// <summary>Reads the <c>cpu</c> line; zeros where there is none.</summary>
    public static MachineTime Read()
    {
        try
        {
            // proc(5): "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
            string line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            long[] fields = [.. line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture))];
            return fields.Length == 8 ? new MachineTime(fields.Sum(), fields[7]) : default;
        }
        catch (IOException)
        {
            return default;
        }
    }

    /// <summary>The share of the machine's time stolen since <paramref name="before"/> (0 to 1); negative when unknown.</summary>
    public double StealShareSince(MachineTime before) =>
        Total - before.Total is > 0 and var total ? (double)(Steal - before.Steal) / total : -1;
}
