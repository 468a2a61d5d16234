using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.Load.Sidecar;
using SecureComms.Testing;

namespace SecureComms.Load.Processes;

/// <summary>The settings of a separate-process run (<c>--processes</c>).</summary>
internal sealed record SeparateProcessesSettings(TimeSpan Duration, TimeSpan Warmup, int Rounds, int Concurrency, double Rate, int RateCallers, bool Smoke, string? Only, string? OutFile, bool Pinned);

/// <summary>
/// Each server mode in a process of its own, started afresh for every round, the harness (load client, token server,
/// SecureComms and plain clients) in this one: with pinning, this process runs on CPU 0 and the server on CPU 1 (the
/// sidecar mode's client nginx beside the client, its server nginx beside the app). What the in-process run cannot
/// tell apart: CPU per request on each side, the server's resident memory after the run, and the cold path (process
/// start to the first accepted request, and where that first request's milliseconds went).
/// </summary>
internal static class SeparateProcessesRun
{
    public const string MutualTlsOnly = "mTLS only";
    public const string TrivialScheme = "mTLS + ASP.NET Core auth, trivial scheme";
    public const string FullSecureComms = "full SecureComms";
    public const string ByHand = "by-hand (Certificate + JwtBearer + binding handler + policy)";
    public const string Sidecar = "sidecar (nginx → mTLS → nginx → the app on its trusted-proxy path)";
    private const string Audience = "https://work.example.org";

    private static readonly Mode[] Modes =
    [
        new(MutualTlsOnly, "mtls-only", CallerKind.Plain),
        new(TrivialScheme, "trivial-scheme", CallerKind.Plain),
        new(FullSecureComms, "full", CallerKind.SecureComms),
        new(ByHand, "by-hand", CallerKind.SecureComms),
        new(Sidecar, "behind-proxy", CallerKind.Sidecar),
    ];

    private enum CallerKind
    {
        /// <summary>The baselines' client: the development CA checks the server, the client SVID in the handshake.</summary>
        Plain,

        /// <summary>A SecureComms client from <c>IHttpClientFactory</c>: SVID, the server's SPIFFE ID, a bound token.</summary>
        SecureComms,

        /// <summary>Plaintext to the client nginx, the bound token added by the caller.</summary>
        Sidecar,
    }

    public static async Task<int> RunAsync(SeparateProcessesSettings settings)
    {
        var caller = SpiffeId.Parse("spiffe://example.org/load-client");
        using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        WorkloadCertificate serverSvid = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/work"), TimeSpan.FromHours(4));
        WorkloadCertificate clientSvid = ca.IssueSvid(caller, TimeSpan.FromHours(4));
        await using DevelopmentTokenServer tokens = await LoadServers.StartTokenServerAsync(ca, caller, Audience);

        string? nginx = NginxSidecars.Find();
        string? sidecarSkipped = nginx is null ? "nginx is not installed (Debian: apt-get install -y nginx, or set NGINX to its path)" : null;
        Mode[] modes = [.. Modes.Where(m => (settings.Only is null || m.Name.Contains(settings.Only, StringComparison.OrdinalIgnoreCase)) && (m.Caller != CallerKind.Sidecar || nginx is not null))];
        if (sidecarSkipped is not null)
        {
            Console.Error.WriteLine($"Sidecar mode skipped: {sidecarSkipped}.");
        }

        DirectoryInfo material = Directory.CreateTempSubdirectory("securecomms-load-");
        try
        {
            DevelopmentCertificateAuthority.WriteCertificatePem(serverSvid, Path.Combine(material.FullName, "server.pem"), Path.Combine(material.FullName, "server.key"));
            ca.WriteTrustBundlePem(Path.Combine(material.FullName, "bundle.pem"));
            var run = new Run(settings, ca, clientSvid, serverSvid, tokens, caller, material.FullName, nginx);
            for (int round = 1; round <= settings.Rounds; round++)
            {
                foreach (Mode mode in modes)
                {
                    await run.RunModeAsync(mode, round);
                }
            }

            string report = SeparateProcessesReport.Write(run.Results, run.Memory, run.ColdPaths, settings, run.ServerProcessors, sidecarSkipped);
            Console.WriteLine(report);
            if (settings.OutFile is not null)
            {
                await File.WriteAllTextAsync(settings.OutFile, report);
            }

            List<LoadResult> failed = run.Results.FindAll(r => r.Requests == 0 || r.Errors > 0);
            foreach (LoadResult result in failed)
            {
                Console.Error.WriteLine($"{result.Mode}, {result.Shape}: {result.Requests} requests, {result.Errors} errors; first error: {result.FirstError}");
            }

            return failed.Count == 0 && run.Results.Count > 0 ? 0 : 1;
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }
        finally
        {
            material.Delete(recursive: true);
        }
    }

    private sealed record Mode(string Name, string Kind, CallerKind Caller);

    /// <summary>The state of one separate-process run: what it needs for every mode and what it measured.</summary>
    private sealed class Run(SeparateProcessesSettings settings, DevelopmentCertificateAuthority ca, WorkloadCertificate clientSvid, WorkloadCertificate serverSvid, DevelopmentTokenServer tokens, SpiffeId caller, string material, string? nginx)
    {
        public List<LoadResult> Results { get; } = [];

        public List<ModeMemory> Memory { get; } = [];

        public List<ColdPath> ColdPaths { get; } = [];

        /// <summary>The processors the server processes saw (1 when pinned).</summary>
        public int ServerProcessors { get; private set; }

        public async Task RunModeAsync(Mode mode, int round)
        {
            int? serverCpu = settings.Pinned ? CpuPinning.ServerCpu : null;
            await using ServerChild server = await ServerChild.StartAsync(mode.Kind, material, tokens.Issuer, Audience, caller, serverCpu);
            ServerProcessors = server.Processors;
            await using ServiceProvider clients = Clients(mode, server.Address);
            HttpClient direct = clients.GetRequiredService<IHttpClientFactory>().CreateClient("work");
            if (mode.Caller != CallerKind.Sidecar)
            {
                ColdPaths.Add(await ColdPath.MeasureFirstRequestAsync(mode.Name, round, server, direct));
            }

            await CheckRefusesWithoutTokenAsync(mode, server.Address);
            NginxSidecars? pair = null;
            string? bearer = null;
            if (mode.Caller == CallerKind.Sidecar)
            {
                // The bound token the sidecar mode's caller adds: obtained by a SecureComms client on the app's own
                // mutual-TLS listener (which also shows the app accepts it).
                var copy = new BearerTokenCopy();
                var tokenServices = new ServiceCollection();
                AddSecureCommsClient(tokenServices, server.Address).AddHttpMessageHandler(() => copy);
                await using (ServiceProvider tokenClients = tokenServices.BuildServiceProvider())
                {
                    await tokenClients.GetRequiredService<IHttpClientFactory>().CreateClient("work").GetAsync(WorkRequests.Work);
                }

                bearer = copy.Token ?? throw new InvalidOperationException("No certificate-bound token was obtained for the sidecar mode.");
                pair = await NginxSidecars.StartAsync(nginx!, ca, clientSvid, serverSvid, "work", server.PlaintextAddress!, settings.Pinned ? CpuPinning.ClientCpu : null, serverCpu);
            }

            await using (pair)
            {
                using var http11 = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) }) { BaseAddress = pair?.Http11Address };
                using var http2 = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) }) { BaseAddress = pair?.Http2Address };
                if (pair is not null && (await WorkRequests.StatusAsync(http11, bearer!) != HttpStatusCode.OK || (await http11.GetAsync(WorkRequests.Work)).StatusCode != HttpStatusCode.Unauthorized))
                {
                    throw new InvalidOperationException("Sidecar mode is not what it claims: through the pair, the bound token must be accepted (200) and its absence refused (401).");
                }

                // The server side's usage: the server process, and in the sidecar mode both nginx processes (each reading is
                // kept, so that the pair's share of a run can be told apart: the load reads before and after its window).
                var nginxReadings = new List<ProcessUsage>();
                ProcessUsage ServerSide()
                {
                    ProcessUsage usage = server.ReadUsage();
                    if (pair is not null)
                    {
                        ProcessUsage proxies = pair.ReadUsage();
                        nginxReadings.Add(proxies);
                        usage += proxies;
                    }

                    return usage;
                }

                Func<CancellationToken, Task<bool>> Call(Version version) => pair is null
                    ? ct => WorkRequests.SendAsync(direct, version, ct)
                    : ct => WorkRequests.SendAsync(version == HttpVersion.Version20 ? http2 : http11, version, ct, bearer: bearer);

                foreach ((Version version, string protocol) in new[] { (HttpVersion.Version11, "HTTP/1.1"), (HttpVersion.Version20, "HTTP/2") })
                {
                    LoadResult saturated = await LoadRun.RunAsync(mode.Name, $"{protocol} keep-alive, {settings.Concurrency} callers", settings.Concurrency, settings.Warmup, settings.Duration, Call(version), ServerSide);
                    Results.Add(WithProxyShare(saturated, round, nginxReadings));
                }

                double rate = settings.Smoke ? Math.Min(settings.Rate, 200) : settings.Rate;
                foreach ((Version version, string protocol) in new[] { (HttpVersion.Version11, "HTTP/1.1"), (HttpVersion.Version20, "HTTP/2") })
                {
                    LoadResult paced = await LoadRun.RunAtRateAsync(mode.Name, $"{protocol} keep-alive, fixed {rate:0} requests/s, {settings.RateCallers} callers", settings.RateCallers, rate, settings.Warmup, settings.Duration, Call(version), ServerSide);
                    Results.Add(WithProxyShare(paced, round, nginxReadings));
                }

                MemoryReading afterRuns = server.ReadMemory();
                long proxies = pair?.ReadMemory().Resident ?? -1;
                (long heap, long committed, int assemblies, long methods) = await server.CollectAsync();
                Memory.Add(new ModeMemory(mode.Name, round, afterRuns, server.ReadMemory(), proxies) { HeapAfterCollection = heap, CommittedAfterCollection = committed, Assemblies = assemblies, CompiledMethods = methods });
            }
        }

        /// <summary>
        /// The run's figures with <see cref="LoadResult.ProxyCpuMicrosecondsPerRequest"/> as the server side's (the
        /// server process, and the nginx pair), and the pair's own share kept apart.
        /// </summary>
        private static LoadResult WithProxyShare(LoadResult result, int round, List<ProcessUsage> nginxReadings)
        {
            double nginxShare = nginxReadings.Count < 2 || result.Requests == 0 ? -1 : nginxReadings[^1].Since(nginxReadings[^2]).CpuTime.TotalMicroseconds / result.Requests;
            return result with { Round = round, SidecarCpuMicrosecondsPerRequest = nginxShare };
        }

        private ServiceProvider Clients(Mode mode, Uri address)
        {
            var services = new ServiceCollection();
            if (mode.Caller == CallerKind.SecureComms)
            {
                AddSecureCommsClient(services, address);
            }
            else
            {
                services.AddHttpClient("work", c => c.BaseAddress = address).ConfigurePrimaryHttpMessageHandler(() => LoadServers.PlainHandler(ca.Certificate, clientSvid));
            }

            return services.BuildServiceProvider();
        }

        private IHttpClientBuilder AddSecureCommsClient(IServiceCollection services, Uri address)
        {
            services.AddSecureCommsCore(o => o.Clients["work"] = LoadServers.SecureCommsClient(address, tokens.Issuer, Audience))
                .UseCertificateSource(new InMemoryCertificateSource(clientSvid))
                .UseTrustBundleSource(new InMemoryTrustBundleSource(ca.CreateTrustBundle()));
            return services.AddHttpClient("work").AddSecureComms();
        }

        /// <summary>The modes that check a token really refuse a request without one (401) from the right certificate.</summary>
        private async Task CheckRefusesWithoutTokenAsync(Mode mode, Uri address)
        {
            if (mode.Caller == CallerKind.Plain)
            {
                return;
            }

            using var unauthenticated = new HttpClient(LoadServers.PlainHandler(ca.Certificate, clientSvid)) { BaseAddress = address };
            HttpStatusCode status = (await unauthenticated.GetAsync(WorkRequests.Work)).StatusCode;
            if (status != HttpStatusCode.Unauthorized)
            {
                throw new InvalidOperationException($"{mode.Name} is not what it claims: a request without a token was answered {(int)status} (expected 401).");
            }
        }
    }
}

/// <summary>A server process's resident memory after its runs and after a full collection; the nginx pair's beside it.</summary>
/// <param name="AfterRuns">Right after the loads.</param>
/// <param name="AfterCollection">After a full compacting collection the harness asked for.</param>
/// <param name="ProxiesResident">The nginx pair's resident memory (masters and workers), or negative.</param>
internal sealed record ModeMemory(string Mode, int Round, MemoryReading AfterRuns, MemoryReading AfterCollection, long ProxiesResident)
{
    /// <summary>The managed heap after that collection.</summary>
    public long HeapAfterCollection { get; init; }

    /// <summary>What the GC keeps committed after that collection.</summary>
    public long CommittedAfterCollection { get; init; }

    public int Assemblies { get; init; }

    /// <summary>Methods compiled by the JIT so far (System.Runtime.JitInfo).</summary>
    public long CompiledMethods { get; init; }
}

/// <summary>
/// The cold path of one server process: from asking the operating system to start it to its first accepted request,
/// with the marks the process wrote and every span on both sides while that first request ran.
/// </summary>
internal sealed record ColdPath(string Mode, int Round, DateTime StartedUtc, IReadOnlyList<ServerEvent> Marks, DateTime FirstRequestUtc, TimeSpan FirstRequest, bool Accepted, IReadOnlyList<ServerEvent> Spans)
{
    /// <summary>
    /// Sends the first request to a server that has just become ready, from a client whose SecureComms state is new (no
    /// connection, no token: the client's process is warm, its caches are not), recording every span in this process
    /// (the client's token acquisition, connection set-up and TLS handshakes; the token server's) and then the server's.
    /// </summary>
    public static async Task<ColdPath> MeasureFirstRequestAsync(string mode, int round, ServerChild server, HttpClient client)
    {
        var spans = new List<ServerEvent>();
        using (var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (spans)
                {
                    spans.Add(new ServerEvent("span", "harness: " + activity.Source.Name, ServerEvent.SpanName(activity), activity.StartTimeUtc, activity.Duration));
                }
            },
        })
        {
            ActivitySource.AddActivityListener(listener);
            DateTime sent = DateTime.UtcNow;
            long started = Stopwatch.GetTimestamp();
            bool accepted = await WorkRequests.SendAsync(client, HttpVersion.Version11, CancellationToken.None);
            TimeSpan first = Stopwatch.GetElapsedTime(started);

            // The server writes its spans as they end; its request span ends as the response goes out.
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            IReadOnlyList<ServerEvent> events = server.Events;
            lock (spans)
            {
                // All of the server's: what it did while starting (if anything was fetched then) and for the first request.
                spans.AddRange(events.Where(e => e.Kind == "span").Select(e => e with { Source = "server: " + e.Source }));
                return new ColdPath(mode, round, server.StartedUtc, [.. events.Where(e => e.Kind == "mark")], sent, first, accepted, [.. spans.OrderBy(s => s.StartUtc)]);
            }
        }
    }

    /// <summary>Milliseconds from the process start request to a mark the process wrote (<c>main</c>, <c>loaded</c>, <c>listening</c>).</summary>
    public double MillisecondsTo(string mark) =>
        Marks.FirstOrDefault(m => m.Name == mark) is { Kind: "mark" } found ? (found.StartUtc - StartedUtc).TotalMilliseconds : double.NaN;

    /// <summary>Milliseconds from the process start request to the first request's answer.</summary>
    public double MillisecondsToFirstAnswer => (FirstRequestUtc + FirstRequest - StartedUtc).TotalMilliseconds;
}
