using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SecureComms.Load;

/// <summary>
/// Splits a profiled run's CPU per request by owner. Input: the text of <c>perf script</c> (call stacks of a
/// <c>perf record -g</c> of the harness, with the runtime's perf map). Each sample goes to the innermost frame whose
/// assembly or library has an owner below; frames without one (the base library, the runtime, the C library, dependency
/// injection) count for the owner that called them, so a dictionary lookup made by the authentication middleware is the
/// middleware's. A sample with no owned frame at all is the runtime's own work (thread pool dispatch, GC, JIT).
/// </summary>
internal static partial class CpuAttribution
{
    private const string Runtime = "runtime, no owner in the stack (thread pool, GC, JIT)";

    /// <summary>Owners by assembly (managed frames) or library (native frames), in the order they are printed.</summary>
    private static readonly (string Owner, Func<string, bool> Owns)[] Owners =
    [
        ("SecureComms.AspNetCore (server)", m => m == "SecureComms.AspNetCore"),
        ("SecureComms (client handlers, shared types)", m => m == "SecureComms"),
        ("ASP.NET Core authentication and authorization", m => m.StartsWith("Microsoft.AspNetCore.Authentication", StringComparison.Ordinal) || m.StartsWith("Microsoft.AspNetCore.Authorization", StringComparison.Ordinal)),
        ("ASP.NET Core hosting, routing and the endpoint", m => m is "Microsoft.AspNetCore.Hosting" or "Microsoft.AspNetCore.Routing" or "Microsoft.AspNetCore.Http" or "Microsoft.AspNetCore.Http.Abstractions" or "Microsoft.AspNetCore.Http.Extensions" or "Microsoft.AspNetCore" or "Microsoft.AspNetCore.Http.Results"),
        ("Kestrel (HTTP/2 and HTTP/1.1, pipes)", m => m.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) || m is "System.IO.Pipelines" or "Microsoft.AspNetCore.Connections.Abstractions"),
        ("HttpClient (SocketsHttpHandler, IHttpClientFactory)", m => m is "System.Net.Http" or "Microsoft.Extensions.Http"),
        ("TLS (SslStream, OpenSSL)", m => m is "System.Net.Security" or "System.Security.Cryptography" || m.StartsWith("libssl", StringComparison.Ordinal) || m.StartsWith("libcrypto", StringComparison.Ordinal) || m.StartsWith("libSystem.Security.Cryptography", StringComparison.Ordinal)),
        ("sockets", m => m is "System.Net.Sockets" or "Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"),
        ("load generator", m => m == "SecureComms.Load"),
        ("kernel", m => m == "kernel"),
    ];

    /// <summary>
    /// Reads each (label, perf script file, CPU µs per request) and prints one table: µs per request by owner for each
    /// run, then, for each run of another mode than the first, its difference from the latest run of the first mode
    /// before it (so "A B A B" gives two paired differences).
    /// </summary>
    public static string Report(IReadOnlyList<(string Label, string StacksFile, double CpuMicrosecondsPerRequest)> runs)
    {
        var shares = runs.Select(r => Attribute(File.ReadLines(r.StacksFile))).ToList();
        IEnumerable<string> owners = Owners.Select(o => o.Owner).Append("other").Append(Runtime);
        var text = new StringBuilder();
        text.Append("| owner |");
        for (int i = 0; i < runs.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $" run {i + 1}, {runs[i].Label}: µs/request |");
        }

        // Each run of another mode is compared with the latest run of the first mode before it.
        var pairs = new List<(int Run, int Baseline)>();
        for (int i = 1, baseline = 0; i < runs.Count; i++)
        {
            if (runs[i].Label == runs[0].Label)
            {
                baseline = i;
            }
            else
            {
                pairs.Add((i, baseline));
            }
        }

        foreach ((int run, int baseline) in pairs)
        {
            text.Append(CultureInfo.InvariantCulture, $" run {run + 1} − run {baseline + 1} ({runs[run].Label} − {runs[baseline].Label}) |");
        }

        text.AppendLine();
        text.Append("|---|").Append(string.Concat(Enumerable.Repeat("---:|", runs.Count + pairs.Count))).AppendLine();
        foreach (string owner in owners)
        {
            double[] micros = [.. runs.Select((r, i) => shares[i].Fraction(owner) * r.CpuMicrosecondsPerRequest)];
            text.Append(CultureInfo.InvariantCulture, $"| {owner} |");
            foreach (double value in micros)
            {
                text.Append(CultureInfo.InvariantCulture, $" {value:0.0} |");
            }

            foreach ((int run, int baseline) in pairs)
            {
                double delta = micros[run] - micros[baseline];
                text.Append(CultureInfo.InvariantCulture, $" {(delta >= 0 ? "+" : "")}{delta:0.0} |");
            }

            text.AppendLine();
        }

        text.Append("| **the run's CPU per request** |");
        foreach ((_, _, double cpu) in runs)
        {
            text.Append(CultureInfo.InvariantCulture, $" **{cpu:0.0}** |");
        }

        foreach ((int run, int baseline) in pairs)
        {
            double delta = runs[run].CpuMicrosecondsPerRequest - runs[baseline].CpuMicrosecondsPerRequest;
            text.Append(CultureInfo.InvariantCulture, $" **{(delta >= 0 ? "+" : "")}{delta:0.0}** |");
        }

        text.AppendLine();
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Samples: {string.Join(", ", runs.Select((r, i) => $"{r.Label} {shares[i].Total}"))}.");
        return text.ToString();
    }

    /// <summary>Counts samples by owner from <c>perf script</c> output (a header line, then one frame per line, leaf first).</summary>
    public static Shares Attribute(IEnumerable<string> perfScriptLines)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        string? owner = null;
        bool inSample = false;
        foreach (string line in perfScriptLines)
        {
            if (line.Length == 0 || !char.IsWhiteSpace(line[0]))
            {
                // A blank line ends a sample's stack; a line at the margin starts the next sample.
                Close();
                inSample = line.Length != 0;
                continue;
            }

            if (inSample && owner is null)
            {
                owner = OwnerOf(line); // the first (innermost) frame with an owner decides
            }
        }

        Close();
        return new Shares(counts, total);

        void Close()
        {
            if (inSample)
            {
                total++;
                string key = owner ?? Runtime;
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }

            inSample = false;
            owner = null;
        }
    }

    /// <summary>The owner of one stack frame, or null when its module has none (it then counts for its caller).</summary>
    internal static string? OwnerOf(string frame)
    {
        string? module = ModuleOf(frame);
        if (module is null)
        {
            return null;
        }

        foreach ((string name, Func<string, bool> owns) in Owners)
        {
            if (owns(module))
            {
                return name;
            }
        }

        return module.StartsWith("Microsoft.", StringComparison.Ordinal) || module.StartsWith("System.", StringComparison.Ordinal)
            ? (IsUnowned(module) ? null : "other")
            : null;
    }

    /// <summary>
    /// The assembly of a managed frame (the bracket right before the method's type: <c>… [Assembly] Namespace.Type::Method(…)</c>;
    /// earlier brackets belong to the return type), <c>kernel</c>, or the file name of a native library.
    /// </summary>
    internal static string? ModuleOf(string frame)
    {
        int method = frame.IndexOf("::", StringComparison.Ordinal);
        if (method > 0)
        {
            Match owner = AssemblyBeforeType().Match(frame[..method]);
            if (owner.Success)
            {
                return owner.Groups[1].Value;
            }
        }

        if (frame.Contains("[kernel.kallsyms]", StringComparison.Ordinal))
        {
            return "kernel";
        }

        Match library = NativeLibrary().Match(frame);
        return library.Success ? library.Groups[1].Value : null;
    }

    /// <summary>Modules whose work is always on behalf of a caller: the base library, the runtime, dependency injection, logging.</summary>
    private static bool IsUnowned(string module) =>
        module is "System.Private.CoreLib" or "System.Runtime" or "System.Collections" or "System.Collections.Concurrent" or "System.Linq" or "System.Memory"
            or "System.Threading" or "System.Threading.Channels" or "System.Security.Claims" or "System.Collections.Immutable" or "System.Diagnostics.DiagnosticSource"
            or "System.Private.Uri" or "System.Text.Encodings.Web" or "System.Threading.RateLimiting"
        || module.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal);

    [GeneratedRegex(@"\[([A-Za-z0-9_.]+)\] (?!.*\] )", RegexOptions.CultureInvariant)]
    private static partial Regex AssemblyBeforeType();

    [GeneratedRegex(@"\(/[^)]*/(lib[^/)]+?\.so[.0-9]*)\)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex NativeLibrary();

    /// <summary>Samples by owner.</summary>
    internal sealed class Shares(Dictionary<string, long> counts, long total)
    {
        public long Total { get; } = total;

        public double Fraction(string owner) => Total == 0 ? 0 : (double)counts.GetValueOrDefault(owner) / Total;
    }
}
