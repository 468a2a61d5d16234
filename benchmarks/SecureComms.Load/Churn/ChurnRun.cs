using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.Testing;

namespace SecureComms.Load.Churn;

/// <summary>
/// Churn under load: the full SecureComms server on Kestrel and a SecureComms client from <c>IHttpClientFactory</c>
/// with certificate-bound tokens, both reading their SVIDs, keys and trust bundles from PEM files as a deployment does
/// (SecureComms' <c>Certificate</c> and <c>TrustBundles</c> settings, the files watched), while the callers call
/// <c>GET /work</c> back to back. A script rotates the server SVID, the client SVID and the token issuer's signing key,
/// then withdraws the earlier keys, each while requests flow; the run records requests completed per 250 ms, every
/// failure, and when each rotation was loaded by its owner and first seen by the peer.
/// </summary>
internal static class ChurnRun
{
    private const string Audience = "https://work.example.org";
    private static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId Server = SpiffeId.Parse("spiffe://example.org/work");
    private static readonly SpiffeId Client = SpiffeId.Parse("spiffe://example.org/load-client");
    private static readonly SpiffeId TokenServer = SpiffeId.Parse("spiffe://example.org/token-server");

    /// <summary>The width of one bucket of completed requests.</summary>
    private static readonly TimeSpan Bucket = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Tokens live 5 s (renewed 0.5 s before expiry), so that a new signing key reaches the callers within the run, as it
    /// would within a token's lifetime in a deployment.
    /// </summary>
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromSeconds(5);

    /// <summary>The server refetches the JWKS for an unknown <c>kid</c> at most this often (default 1 min).</summary>
    private static readonly TimeSpan KeyRefreshMinInterval = TimeSpan.FromSeconds(5);

    /// <summary>Both sides re-read their files this often when no file-system event came (default 30 s).</summary>
    private static readonly TimeSpan FilePollingInterval = TimeSpan.FromSeconds(5);

    /// <summary>The client's connections are replaced this often (default 10 min), so that a new server SVID is met within the run.</summary>
    private static readonly TimeSpan ConnectionLifetime = TimeSpan.FromSeconds(5);

    /// <summary>How long past <c>--duration</c> the load goes on while a rotation has not been seen yet.</summary>
    private static readonly TimeSpan Overtime = TimeSpan.FromSeconds(30);

    /// <summary>Load after the last rotation was seen, so that its dip window is complete.</summary>
    private static readonly TimeSpan AfterLastSeen = TimeSpan.FromSeconds(2.5);

    //   dotnet run -c Release --project benchmarks/SecureComms.Load -- --churn [--duration 30] [--warmup 10] [--concurrency 32] [--protocol 1.1|2] [--out churn.md]
    public static async Task<int> RunAsync(string[] args)
    {
        TimeSpan duration = TimeSpan.FromSeconds(Option(args, "--duration", 30));

        // Load before the steady window and the --duration start (connections, first tokens, and the JIT's tier-1 code:
        // with tiered compilation, throughput on a busy 2-core machine still climbs for several seconds).
        TimeSpan warmup = TimeSpan.FromSeconds(Option(args, "--warmup", 10));
        int concurrency = (int)Option(args, "--concurrency", 32);
        string? protocol = OptionText(args, "--protocol"); // HTTP/1.1 then HTTP/2 when absent
        string? outFile = OptionText(args, "--out");
        Version[] versions = protocol switch
        {
            null => [HttpVersion.Version11, HttpVersion.Version20],
            "1.1" => [HttpVersion.Version11],
            "2" => [HttpVersion.Version20],
            _ => throw new ArgumentException($"--protocol {protocol}: expected 1.1 or 2."),
        };

        var text = new StringBuilder();
        bool clean = true;
        foreach (Version version in versions)
        {
            string shape = $"{(version == HttpVersion.Version20 ? "HTTP/2" : "HTTP/1.1")} keep-alive, {concurrency} callers";
            Console.Error.WriteLine($"churn: {shape}, {warmup.TotalSeconds:0} s warm-up, then {duration.TotalSeconds:0} s");
            ChurnResult result = await RunOnceAsync(shape, version, concurrency, duration, warmup);
            text.Append(ChurnReport.Markdown(result, Bucket, warmup));
            clean &= result.Failed == 0 && result.Events.TrueForAll(e => e.Seen() is not null);
        }

        Console.WriteLine(text);
        if (outFile is not null)
        {
            await File.WriteAllTextAsync(outFile, text.ToString());
        }

        return clean ? 0 : 1;
    }

    private static async Task<ChurnResult> RunOnceAsync(string shape, Version version, int concurrency, TimeSpan duration, TimeSpan warmup)
    {
        DirectoryInfo folder = Directory.CreateTempSubdirectory("securecomms-churn-");
        try
        {
            using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(Domain);
            var serverFiles = new WorkloadFiles(Path.Combine(folder.FullName, "work"));
            var clientFiles = new WorkloadFiles(Path.Combine(folder.FullName, "load-client"));
            serverFiles.WriteSvid(ca.IssueSvid(Server, TimeSpan.FromHours(1)));
            serverFiles.WriteBundle(ca);
            clientFiles.WriteSvid(ca.IssueSvid(Client, TimeSpan.FromHours(1)));
            clientFiles.WriteBundle(ca);

            await using DevelopmentTokenServer tokens = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
            {
                ServerCertificate = ca.IssueSvid(TokenServer, TimeSpan.FromHours(1)),
                ClientTrust = ca.CreateTrustBundle(),
                TokenLifetime = TokenLifetime,
                Clients = [new DevelopmentClient { ClientId = "load-client", TlsClientAuthSanUri = Client, AllowedScopes = ["work"], AllowedResources = [Audience] }],
            });

            var clock = new RunClock();
            TimeSpan longest = warmup + duration + Overtime + Overtime;
            var observations = new PeerObservations(clock, longest);
            using var serverLogs = new LogCounts("server");
            using var clientLogs = new LogCounts("client");
            await using WebApplication server = await StartServerAsync(serverFiles, tokens, observations, serverLogs);
            await using ServiceProvider client = CreateClient(clientFiles, tokens, LoadServers.Address(server), clientLogs);
            using var serverLoads = new CertificateLoads(server.Services.GetRequiredService<ICertificateSource>(), clock);
            using var clientLoads = new CertificateLoads(client.GetRequiredService<ICertificateSource>(), clock);
            IHttpClientFactory factory = client.GetRequiredService<IHttpClientFactory>();
            var callers = new ChurnCallers(clock, Bucket, longest);
            var jwksFetches = new ConcurrentQueue<TimeSpan>();
            int tokensBefore = tokens.TokenRequestCount;
            int jwksBefore = tokens.JwksRequestCount;

            using var stop = new CancellationTokenSource();
            clock.Restart();
            Task[] calls = [.. Enumerable.Range(0, concurrency).Select(_ => Task.Run(() => callers.CallAsync(factory.CreateClient("work"), version, stop.Token)))];
            Task jwksWatch = WatchJwksFetchesAsync(tokens, clock, jwksFetches, stop.Token);
            var events = new List<ChurnEvent>();
            try
            {
                await RunScriptAsync(ca, serverFiles, clientFiles, tokens, clock, observations, serverLoads, clientLoads, jwksFetches, events, duration, warmup);
            }
            finally
            {
                await stop.CancelAsync();
                await Task.WhenAll(calls);
                await jwksWatch;
            }

            TimeSpan end = clock.Elapsed;
            return new ChurnResult(
                shape,
                end,
                callers.CompletedBuckets(end),
                observations.NewConnectionsPerSecond(end),
                callers.Failed,
                [.. callers.Failures],
                events,
                tokens.TokenRequestCount - tokensBefore,
                tokens.JwksRequestCount - jwksBefore,
                [.. serverLogs.Lines, .. clientLogs.Lines]);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The rotations, after the warm-up and a steady window, spaced evenly over the first half of <paramref name="duration"/>: the server SVID, the client SVID, a new signing
    /// key (the previous one still published), then another new key with every earlier one withdrawn. The withdrawal waits
    /// until the previous key has been seen and the server's refresh for it is <see cref="KeyRefreshMinInterval"/> old, so
    /// that the server may refresh again for the next key. The load then goes on until the warm-up and
    /// <paramref name="duration"/> have passed and every rotation has been seen, plus <see cref="AfterLastSeen"/>, for at
    /// most <see cref="Overtime"/> more.
    /// </summary>
    private static async Task RunScriptAsync(
        DevelopmentCertificateAuthority ca, WorkloadFiles serverFiles, WorkloadFiles clientFiles, DevelopmentTokenServer tokens, RunClock clock,
        PeerObservations observations, CertificateLoads serverLoads, CertificateLoads clientLoads, ConcurrentQueue<TimeSpan> jwksFetches, List<ChurnEvent> events, TimeSpan duration, TimeSpan warmup)
    {
        TimeSpan spacing = TimeSpan.FromSeconds(Math.Max(1.5, duration.TotalSeconds / 7));
        TimeSpan first = warmup + (1.5 * spacing);
        TimeSpan end = warmup + duration;
        TimeSpan deadline = end + Overtime;

        await clock.DelayUntilAsync(first);
        WorkloadCertificate serverSvid = ca.IssueSvid(Server, TimeSpan.FromHours(1));
        TimeSpan at = clock.Elapsed;
        serverFiles.WriteSvid(serverSvid);
        events.Add(new ChurnEvent("server SVID: new key and certificate files renamed over the old", at, () => serverLoads.Loaded(serverSvid.Certificate), () => observations.ServerCertificateSeen(serverSvid.Certificate)));

        await clock.DelayUntilAsync(first + spacing);
        WorkloadCertificate clientSvid = ca.IssueSvid(Client, TimeSpan.FromHours(1));
        at = clock.Elapsed;
        clientFiles.WriteSvid(clientSvid);
        events.Add(new ChurnEvent("client SVID: new key and certificate files renamed over the old", at, () => clientLoads.Loaded(clientSvid.Certificate), () => observations.ClientCertificateSeen(clientSvid.Certificate)));

        await clock.DelayUntilAsync(first + (2 * spacing));
        at = clock.Elapsed;
        tokens.RotateSigningKey(retirePreviousKeys: false);
        string rotated = tokens.PublishedKeyIds[^1];
        TimeSpan rotatedAt = at;
        events.Add(new ChurnEvent("signing key: a new key signs, the previous one still published", at, () => FirstAfter(jwksFetches, rotatedAt), () => observations.SigningKeySeen(rotated)));

        await clock.DelayUntilAsync(first + (3 * spacing));
        while (clock.Elapsed < deadline
            && (observations.SigningKeySeen(rotated) is null || FirstAfter(jwksFetches, rotatedAt) is not { } fetched || clock.Elapsed < fetched + KeyRefreshMinInterval + TimeSpan.FromSeconds(1)))
        {
            await Task.Delay(50);
        }

        at = clock.Elapsed;
        tokens.RotateSigningKey(retirePreviousKeys: true);
        string replacement = tokens.PublishedKeyIds[^1];
        TimeSpan withdrawnAt = at;
        events.Add(new ChurnEvent("signing key: a new key signs, every earlier key withdrawn from the JWKS", at, () => FirstAfter(jwksFetches, withdrawnAt), () => observations.SigningKeySeen(replacement)));

        while (clock.Elapsed < deadline)
        {
            TimeSpan? lastSeen = TimeSpan.Zero;
            foreach (ChurnEvent churn in events)
            {
                lastSeen = churn.Seen() is { } seen && lastSeen is { } last ? (seen > last ? seen : last) : null;
            }

            if (lastSeen is { } all && clock.Elapsed >= end && clock.Elapsed >= all + AfterLastSeen)
            {
                return;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Records when the token server's JWKS was fetched (the resource server is its only reader here).</summary>
    private static async Task WatchJwksFetchesAsync(DevelopmentTokenServer tokens, RunClock clock, ConcurrentQueue<TimeSpan> fetches, CancellationToken stop)
    {
        int seen = tokens.JwksRequestCount;
        while (!stop.IsCancellationRequested)
        {
            int now = tokens.JwksRequestCount;
            if (now != seen)
            {
                seen = now;
                fetches.Enqueue(clock.Elapsed);
            }

            try
            {
                await Task.Delay(10, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static TimeSpan? FirstAfter(ConcurrentQueue<TimeSpan> times, TimeSpan after)
    {
        foreach (TimeSpan time in times)
        {
            if (time >= after)
            {
                return time;
            }
        }

        return null;
    }

    /// <summary>
    /// The full mode's server (SVID validation in the handshake, certificate-bound JWT, the central policy) with its SVID,
    /// key and trust bundle read from files and re-read when they change.
    /// </summary>
    private static async Task<WebApplication> StartServerAsync(WorkloadFiles files, DevelopmentTokenServer tokens, PeerObservations observations, LogCounts logs)
    {
        // Configured in code: appsettings files are not watched for changes (only the PEM files are, by SecureComms).
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.WebHost.UseKestrel();
        builder.Logging.ClearProviders().AddProvider(logs);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0",
            ["SecureComms:Certificate:CertificatePath"] = files.CertificatePath,
            ["SecureComms:Certificate:KeyPath"] = files.KeyPath,
            [$"SecureComms:TrustBundles:{Domain}:Path"] = files.BundlePath,
            ["SecureComms:FilePollingInterval"] = FilePollingInterval.ToString("c", CultureInfo.InvariantCulture),
            ["SecureComms:TokenValidation:Authority"] = tokens.Issuer.GetLeftPart(UriPartial.Authority),
            ["SecureComms:TokenValidation:ExpectedServer"] = TokenServer.ToString(),
            ["SecureComms:TokenValidation:Audience"] = Audience,
            ["SecureComms:TokenValidation:KeyRefreshMinInterval"] = KeyRefreshMinInterval.ToString("c", CultureInfo.InvariantCulture),
            ["SecureComms:Authorization:Rules:0:Name"] = "load-client-works",
            ["SecureComms:Authorization:Rules:0:Callers:0"] = Client.ToString(),
            ["SecureComms:Authorization:Rules:0:Paths:0"] = "/work",
            ["SecureComms:Authorization:Rules:0:Methods:0"] = "GET",
        });
        builder.Services.AddSecureComms(builder.Configuration);
        WebApplication app = builder.Build();
        app.MapGet("/work", observations.Observe);
        await app.StartAsync();
        return app;
    }

    /// <summary>
    /// The full mode's caller, the SecureComms client "work" (SVID, the server's SPIFFE ID checked, a certificate-bound
    /// token), with its SVID, key and trust bundle read from files and re-read when they change.
    /// </summary>
    private static ServiceProvider CreateClient(WorkloadFiles files, DevelopmentTokenServer tokens, Uri server, LogCounts logs)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Certificate:CertificatePath"] = files.CertificatePath,
            ["SecureComms:Certificate:KeyPath"] = files.KeyPath,
            [$"SecureComms:TrustBundles:{Domain}:Path"] = files.BundlePath,
            ["SecureComms:FilePollingInterval"] = FilePollingInterval.ToString("c", CultureInfo.InvariantCulture),
            ["SecureComms:Clients:work:BaseAddress"] = server.ToString(),
            ["SecureComms:Clients:work:ExpectedServer"] = Server.ToString(),
            ["SecureComms:Clients:work:PooledConnectionLifetime"] = ConnectionLifetime.ToString("c", CultureInfo.InvariantCulture),
            ["SecureComms:Clients:work:Token:Authority"] = tokens.Issuer.GetLeftPart(UriPartial.Authority),
            ["SecureComms:Clients:work:Token:ExpectedServer"] = TokenServer.ToString(),
            ["SecureComms:Clients:work:Token:ClientId"] = "load-client",
            ["SecureComms:Clients:work:Token:Scope"] = "work",
            ["SecureComms:Clients:work:Token:Resource"] = Audience,
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(logs));
        services.AddSecureCommsCore(configuration); // registers the HttpClient "work" with SecureComms' handler
        return services.BuildServiceProvider();
    }

    private static double Option(string[] args, string name, double fallback) =>
        OptionText(args, name) is { } value ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

    private static string? OptionText(string[] args, string name)
    {
        int index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}

/// <summary>
/// One rotation: what changed, when, when its owner loaded it (the side's certificate source, or the resource server's
/// JWKS fetch for a signing key) and when the peer first met it (a request on a connection presenting the new
/// certificate, or a request whose token the new key signed).
/// </summary>
internal sealed record ChurnEvent(string What, TimeSpan At, Func<TimeSpan?> Loaded, Func<TimeSpan?> Seen);

/// <summary>What one churn run measured.</summary>
internal sealed record ChurnResult(
    string Shape, TimeSpan Length, long[] Buckets, int[] NewConnectionsPerSecond, long Failed, IReadOnlyList<(TimeSpan At, string Reason)> Failures, List<ChurnEvent> Events, int TokensIssued, int JwksFetches, IReadOnlyList<string> Warnings);
