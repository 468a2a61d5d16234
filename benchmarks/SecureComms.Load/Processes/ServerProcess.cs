using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using SecureComms.Load.ByHand;
using SecureComms.Testing;

namespace SecureComms.Load.Processes;

/// <summary>
/// The server side of the separate-process run (<c>--serve &lt;kind&gt;</c>): one of the load harness's servers alone in
/// its own process, its SVID and the trust bundle read from the PEM files the harness wrote. It writes one line per
/// event to standard output (<see cref="ServerEvent"/>): when <c>Main</c> ran, when the host was built and when it
/// listened, then the spans and TLS handshakes of its first requests (so that the harness can tell where the cold path's
/// milliseconds went), then <c>ready</c> with its addresses. It runs until its standard input closes.
/// </summary>
internal static class ServerProcess
{
    /// <summary>The kinds of server this process can be.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["mtls-only", "trivial-scheme", "full", "by-hand", "behind-proxy"];

    /// <summary>How long after its first request the process keeps reporting spans (then the listeners go, so that the loads run without them).</summary>
    private static readonly TimeSpan ColdPathWindow = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(string kind, string material, Uri tokenIssuer, string audience, SpiffeId caller)
    {
        var events = new ServerEventWriter(Console.Out);
        events.Mark("main");
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPemFile(Path.Combine(material, "bundle.pem"));
        X509Certificate2 root = bundle[0];
        WorkloadCertificate server = DevelopmentCertificateAuthority.ReadCertificatePem(Path.Combine(material, "server.pem"), Path.Combine(material, "server.key"));
        using var coldPath = new ColdPathListeners(events, ColdPathWindow);
        events.Mark("loaded");
        WebApplication app = kind switch
        {
            "mtls-only" => await LoadServers.StartMutualTlsOnlyAsync(server, root),
            "trivial-scheme" => await LoadServers.StartMutualTlsWithFrameworkAuthAsync(server, root),
            "full" => await LoadServers.StartSecureCommsAsync(new TrustBundle(caller.TrustDomain, [root]), server, tokenIssuer, audience, caller),
            "by-hand" => await ByHandServer.StartAsync(server, root, tokenIssuer, audience, caller),
            "behind-proxy" => await LoadServers.StartSecureCommsAsync(new TrustBundle(caller.TrustDomain, [root]), server, tokenIssuer, audience, caller, behindProxy: true),
            _ => throw new ArgumentException($"Unknown server kind '{kind}'; one of: {string.Join(", ", Kinds)}.", nameof(kind)),
        };

        await using (app)
        {
            events.Mark("listening");
            string plaintext = app.Urls.FirstOrDefault(u => u.StartsWith("http://", StringComparison.Ordinal)) ?? "-";
            events.Ready(LoadServers.Address(app), plaintext, Environment.ProcessorCount);

            // The harness closes standard input to stop this server; "collect" asks for a full compacting collection and
            // then what the process holds: the managed heap, the assemblies loaded and the methods compiled.
            while (await Console.In.ReadLineAsync() is { } command)
            {
                if (command == "collect")
                {
                    GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                    GC.WaitForPendingFinalizers();
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                    GCMemoryInfo info = GC.GetGCMemoryInfo(GCKind.Any);
                    events.Collected(info.HeapSizeBytes, info.TotalCommittedBytes, AppDomain.CurrentDomain.GetAssemblies().Length, System.Runtime.JitInfo.GetCompiledMethodCount());
                }
            }

            await app.StopAsync();
        }

        return 0;
    }

    /// <summary>
    /// Every span (any <see cref="ActivitySource"/>: ASP.NET Core's request, SecureComms' decision, the HTTP client's
    /// request, connection set-up and TLS handshake of JwtBearer's metadata and JWKS fetch) and every server TLS
    /// handshake (Kestrel's <c>kestrel.tls_handshake.duration</c>) until <paramref name="window"/> after the first
    /// request ended; then both listeners are removed, so that the loads run as without them.
    /// </summary>
    private sealed class ColdPathListeners : IDisposable
    {
        private readonly ActivityListener _spans;
        private readonly MeterListener _handshakes;
        private readonly TimeSpan _window;
        private int _stopping;

        public ColdPathListeners(ServerEventWriter events, TimeSpan window)
        {
            _window = window;
            _spans = new ActivityListener
            {
                ShouldListenTo = _ => true,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    events.Span(activity.Source.Name, ServerEvent.SpanName(activity), activity.StartTimeUtc, activity.Duration);
                    if (activity.OperationName == "Microsoft.AspNetCore.Hosting.HttpRequestIn")
                    {
                        StopAfterWindow();
                    }
                },
            };
            ActivitySource.AddActivityListener(_spans);
            _handshakes = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Meter.Name == "Microsoft.AspNetCore.Server.Kestrel" && instrument.Name == "kestrel.tls_handshake.duration")
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _handshakes.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
            {
                TimeSpan duration = TimeSpan.FromSeconds(seconds);
                events.Span("Microsoft.AspNetCore.Server.Kestrel", "TLS server handshake (kestrel.tls_handshake.duration)", DateTime.UtcNow - duration, duration);
            });
            _handshakes.Start();
        }

        public void Dispose()
        {
            _spans.Dispose();
            _handshakes.Dispose();
        }

        private void StopAfterWindow()
        {
            if (Interlocked.Exchange(ref _stopping, 1) == 0)
            {
                _ = Task.Delay(_window).ContinueWith(_ => Dispose(), TaskScheduler.Default);
            }
        }
    }
}

/// <summary>One line the server process writes: <c>mark</c>, <c>span</c> or <c>ready</c>, tab-separated, times as UTC ticks.</summary>
internal readonly record struct ServerEvent(string Kind, string Source, string Name, DateTime StartUtc, TimeSpan Duration)
{
    /// <summary>A span's display name, with the path of the URL it fetched or served when it has one.</summary>
    public static string SpanName(Activity activity) =>
        activity.GetTagItem("url.full") is string url && Uri.TryCreate(url, UriKind.Absolute, out Uri? full) && full.AbsolutePath != "/" ? $"{activity.DisplayName} {full.AbsolutePath}"
        : activity.GetTagItem("url.path") is string path && !activity.DisplayName.Contains(path, StringComparison.Ordinal) ? $"{activity.DisplayName} {path}"
        : activity.DisplayName;

    public static ServerEvent? Parse(string line)
    {
        string[] fields = line.Split('\t');
        return fields.Length == 5 && fields[0] is "mark" or "span" or "ready"
            ? new ServerEvent(fields[0], fields[1], fields[2], new DateTime(long.Parse(fields[3], CultureInfo.InvariantCulture), DateTimeKind.Utc), TimeSpan.FromTicks(long.Parse(fields[4], CultureInfo.InvariantCulture)))
            : null;
    }
}

/// <summary>Writes <see cref="ServerEvent"/> lines; spans may stop on any thread.</summary>
internal sealed class ServerEventWriter(TextWriter output)
{
    private readonly Lock _lock = new();

    public void Mark(string name) => Write("mark", "process", name, DateTime.UtcNow, TimeSpan.Zero);

    public void Span(string source, string name, DateTime startUtc, TimeSpan duration) =>
        Write("span", source, name.Replace('\t', ' '), startUtc, duration);

    /// <summary>After a full collection: the managed heap's bytes, the bytes the GC keeps committed, the assemblies loaded and the methods compiled, space-separated.</summary>
    public void Collected(long heapBytes, long committedBytes, int assemblies, long compiledMethods) =>
        Write("mark", "collected", string.Create(CultureInfo.InvariantCulture, $"{heapBytes} {committedBytes} {assemblies} {compiledMethods}"), DateTime.UtcNow, TimeSpan.Zero);

    /// <summary>The addresses go in the source and name fields: <c>ready</c>, the TLS address, the plaintext one (or <c>-</c>).</summary>
    public void Ready(Uri address, string plaintext, int processors) =>
        Write("ready", address.ToString(), plaintext + " " + processors.ToString(CultureInfo.InvariantCulture), DateTime.UtcNow, TimeSpan.Zero);

    private void Write(string kind, string source, string name, DateTime startUtc, TimeSpan duration)
    {
        lock (_lock)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{kind}\t{source}\t{name}\t{startUtc.Ticks}\t{duration.Ticks}"));
            output.Flush();
        }
    }
}
