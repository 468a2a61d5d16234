using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;

namespace SecureComms.Soak;

/// <summary>
/// Drives the soak: starts a token server and the server under soak (<see cref="SoakServer"/>, its own process, so that
/// its memory is its own), then sends traffic for the given minutes from several workers, each on connections it
/// replaces every <see cref="RequestsPerConnection"/> requests: distinct valid bound tokens, tokens presented again,
/// invalid ones (bad signature, bound to another certificate), distinct forwarded certificates through the trusted
/// proxy listener, and distinct user contexts from the gateway. Samples the server's memory every few seconds and
/// forces a full GC after warm-up and at the end: the live heap then is what the server keeps.
/// </summary>
internal static class SoakDriver
{
    private const int Callers = 64;
    private const int RequestsPerConnection = 100;

    public static async Task<int> RunAsync(string[] args)
    {
        double minutes = Option(args, "--minutes", 10);
        var sampleEvery = TimeSpan.FromSeconds(Option(args, "--sample-seconds", 20));
        int workers = (int)Option(args, "--workers", 6);
        bool serverGc = !args.Contains("--workstation-gc");
        var duration = TimeSpan.FromMinutes(minutes);
        // Warm-up includes the caches filling to their steady state: tokens live 3 minutes, user contexts 2.5, so after
        // 4 minutes as many entries expire as arrive. From then on a forced full GC every 2 minutes reads the live heap.
        TimeSpan warmUp = TimeSpan.FromSeconds(Math.Min(240, duration.TotalSeconds / 3));
        var collectEvery = TimeSpan.FromMinutes(2);

        using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        string folder = Directory.CreateTempSubdirectory("securecomms-soak-").FullName;
        DevelopmentCertificateAuthority.WriteCertificatePem(ca.IssueSvid(SpiffeId.Parse(SoakServer.ServerId), TimeSpan.FromHours(4)), Path.Combine(folder, "server.pem"), Path.Combine(folder, "server.key"));
        ca.WriteTrustBundlePem(Path.Combine(folder, "bundle.pem"));
        await using DevelopmentTokenServer tokens = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/token-server"), TimeSpan.FromHours(4)),
            ClientTrust = ca.CreateTrustBundle(),
            TokenLifetime = TimeSpan.FromMinutes(3), // shorter than the run: cached tokens expire during it
        });

        var callers = new WorkloadCertificate[Callers];
        for (int i = 0; i < Callers; i++)
        {
            callers[i] = ca.IssueSvid(SpiffeId.Parse($"spiffe://example.org/callers/{i}"), TimeSpan.FromHours(4));
        }

        WorkloadCertificate gateway = ca.IssueSvid(SpiffeId.Parse(SoakServer.GatewayId), TimeSpan.FromHours(4));
        using var gatewaySource = new InMemoryCertificateSource(gateway);
        var minter = new UserContextMinter(gatewaySource, TimeProvider.System);

        using Process server = StartServer(folder, tokens.Issuer.GetLeftPart(UriPartial.Authority), serverGc);
        string ready = await server.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the server exited before it was ready: " + await server.StandardError.ReadToEndAsync());
        string[] urls = ready.Split(' ');
        var https = new Uri(urls[1]);
        var proxy = new Uri(urls[2]);
        Console.WriteLine($"Soak: {minutes} min, {workers} workers, server pid {server.Id} ({(serverGc ? "server" : "workstation")} GC) at {https} and {proxy}, samples every {sampleEvery.TotalSeconds} s, full GC after {warmUp.TotalSeconds} s, every {collectEvery.TotalSeconds} s after that and at the end");

        var counts = new Counts();
        using var stop = new CancellationTokenSource(duration);
        var traffic = new List<Task>();
        for (int w = 0; w < workers; w++)
        {
            int worker = w;
            Func<Task> loop = (worker % 6) switch
            {
                3 or 4 => () => ForwardedLoopAsync(worker, ca, tokens, proxy, counts, stop.Token),
                5 => () => UserContextLoopAsync(worker, ca, gateway, minter, tokens, https, counts, stop.Token),
                _ => () => TokenLoopAsync(worker, ca, callers, tokens, https, counts, stop.Token),
            };
            traffic.Add(Task.Run(loop));
        }

        var samples = new List<Sample>();
        var stopwatch = Stopwatch.StartNew();
        TimeSpan nextCollect = warmUp;
        Console.WriteLine(Sample.Header);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(sampleEvery, stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            bool collect = stopwatch.Elapsed >= nextCollect;
            if (collect)
            {
                nextCollect = stopwatch.Elapsed + collectEvery;
            }

            Sample sample = await AskAsync(server, collect ? "collect" : "sample", counts.Total);
            samples.Add(sample);
            Console.WriteLine(sample.Row());
        }

        await Task.WhenAll(traffic);
        Sample last = await AskAsync(server, "sample", counts.Total);
        Sample final = await AskAsync(server, "collect", counts.Total);
        samples.Add(last);
        samples.Add(final);
        Console.WriteLine(last.Row());
        Console.WriteLine(final.Row());
        await server.StandardInput.WriteLineAsync("quit");
        await server.WaitForExitAsync();
        Directory.Delete(folder, recursive: true);

        Console.WriteLine();
        Console.WriteLine(counts.Describe(stopwatch.Elapsed));
        Console.WriteLine(Verdict(samples));
        return counts.Unexpected == 0 && !Verdict(samples).Contains("GROWTH", StringComparison.Ordinal) ? 0 : 1;
    }

    private static Process StartServer(string folder, string authority, bool serverGc)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        if (!Environment.ProcessPath!.EndsWith("SecureComms.Soak", StringComparison.Ordinal))
        {
            start.ArgumentList.Add(typeof(SoakDriver).Assembly.Location); // `dotnet SecureComms.Soak.dll`
        }

        foreach (string argument in (string[])["--serve", folder, authority])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_gcServer"] = serverGc ? "1" : "0"; // server GC: as an ASP.NET Core service runs by default
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the server process");
    }

    private static async Task<Sample> AskAsync(Process server, string command, long requests)
    {
        await server.StandardInput.WriteLineAsync(command);
        await server.StandardInput.FlushAsync();
        string line = await server.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the server process ended");
        return Sample.Parse(line, requests);
    }

    /// <summary>Callers on mTLS: tokens presented again (hot), new valid bound tokens, and invalid ones.</summary>
    private static async Task TokenLoopAsync(int worker, DevelopmentCertificateAuthority ca, WorkloadCertificate[] callers, DevelopmentTokenServer tokens, Uri server, Counts counts, CancellationToken stop)
    {
        var random = new Random(worker);
        var hot = new (string Token, DateTimeOffset Until)[callers.Length];
        WorkloadCertificate other = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/other"), TimeSpan.FromHours(4));
        while (!stop.IsCancellationRequested)
        {
            WorkloadCertificate caller = callers[random.Next(callers.Length)];
            int index = Array.IndexOf(callers, caller);
            using var client = new HttpClient(MtlsHandler(ca, caller)) { BaseAddress = server };
            for (int i = 0; i < RequestsPerConnection && !stop.IsCancellationRequested; i++)
            {
                int dice = random.Next(100);
                string token;
                bool valid = true;
                if (dice < 50)
                {
                    if (hot[index].Until <= DateTimeOffset.UtcNow)
                    {
                        hot[index] = (tokens.IssueUserToken($"caller-{index}", SoakServer.Audience, boundTo: caller.Certificate), DateTimeOffset.UtcNow.AddMinutes(1));
                    }

                    token = hot[index].Token;
                }
                else if (dice < 85)
                {
                    token = tokens.IssueUserToken($"user-{random.Next()}", SoakServer.Audience, boundTo: caller.Certificate);
                }
                else
                {
                    valid = false;
                    token = random.Next(3) switch
                    {
                        0 => tokens.IssueUserToken($"user-{random.Next()}", SoakServer.Audience, boundTo: other.Certificate), // another certificate's token
                        1 => Tampered(tokens.IssueUserToken($"user-{random.Next()}", SoakServer.Audience, boundTo: caller.Certificate), random),
                        _ => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(random.Next(16, 600))),
                    };
                }

                using var request = new HttpRequestMessage(HttpMethod.Get, "/work");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                await SendAsync(client, request, valid ? 200 : 401, valid ? Kind.Token : Kind.InvalidToken, counts);
            }
        }
    }

    /// <summary>A trusted proxy on the plaintext listener forwarding a new workload's certificate (RFC 9440) with its bound token.</summary>
    private static async Task ForwardedLoopAsync(int worker, DevelopmentCertificateAuthority ca, DevelopmentTokenServer tokens, Uri proxy, Counts counts, CancellationToken stop)
    {
        int n = 0;
        string prefix = $"spiffe://example.org/forwarded/{worker}/";
        while (!stop.IsCancellationRequested)
        {
            using var client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = proxy };
            for (int i = 0; i < RequestsPerConnection && !stop.IsCancellationRequested; i++)
            {
                // A new certificate (and key) every time; its SPIFFE ID one of 2,000 per worker, so the callers' claims reach a steady state too.
                WorkloadCertificate forwarded = ca.IssueSvid(SpiffeId.Parse(prefix + (n++ % 2000).ToString(CultureInfo.InvariantCulture)), TimeSpan.FromHours(1));
                using var request = new HttpRequestMessage(HttpMethod.Get, "/work");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IssueUserToken("forwarded", SoakServer.Audience, boundTo: forwarded.Certificate));
                request.Headers.TryAddWithoutValidation("Client-Cert", $":{Convert.ToBase64String(forwarded.Certificate.RawData)}:");
                await SendAsync(client, request, 200, Kind.Forwarded, counts);
            }
        }
    }

    /// <summary>The gateway calling for a new end user each time: a distinct user context per request.</summary>
    private static async Task UserContextLoopAsync(int worker, DevelopmentCertificateAuthority ca, WorkloadCertificate gateway, UserContextMinter minter, DevelopmentTokenServer tokens, Uri server, Counts counts, CancellationToken stop)
    {
        int n = worker * 10_000_000;
        string token = tokens.IssueUserToken("gateway", SoakServer.Audience, boundTo: gateway.Certificate);
        DateTimeOffset renew = DateTimeOffset.UtcNow.AddMinutes(1);
        while (!stop.IsCancellationRequested)
        {
            using var client = new HttpClient(MtlsHandler(ca, gateway)) { BaseAddress = server };
            for (int i = 0; i < RequestsPerConnection && !stop.IsCancellationRequested; i++)
            {
                if (DateTimeOffset.UtcNow >= renew)
                {
                    token = tokens.IssueUserToken("gateway", SoakServer.Audience, boundTo: gateway.Certificate);
                    renew = DateTimeOffset.UtcNow.AddMinutes(1);
                }

                var user = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", $"user-{n++}"), new Claim("name", "Soak User")], "edge"));
                string context = minter.MintForUser(user, SoakServer.ServerId, TimeSpan.FromMinutes(2), ["name"])!;
                using var request = new HttpRequestMessage(HttpMethod.Get, "/user");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                request.Headers.TryAddWithoutValidation(SecureCommsUserContext.HeaderName, context);
                await SendAsync(client, request, 200, Kind.UserContext, counts);
            }
        }
    }

    private static async Task SendAsync(HttpClient client, HttpRequestMessage request, int expected, Kind kind, Counts counts)
    {
        try
        {
            using HttpResponseMessage response = await client.SendAsync(request);
            counts.Add(kind, (int)response.StatusCode, expected);
        }
        catch (HttpRequestException)
        {
            counts.Add(kind, -1, expected);
        }
    }

    private static string Tampered(string token, Random random)
    {
        char[] chars = token.ToCharArray();
        int at = token.LastIndexOf('.') + 1 + random.Next(token.Length - token.LastIndexOf('.') - 1);
        chars[at] = chars[at] == 'A' ? 'B' : 'A';
        return new string(chars);
    }

    private static SocketsHttpHandler MtlsHandler(DevelopmentCertificateAuthority ca, WorkloadCertificate client) => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificateContext = SslStreamCertificateContext.Create(client.Certificate, client.Intermediates, offline: true),
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 leaf && ChainsTo(ca.Certificate, leaf),
        },
    };

    private static bool ChainsTo(X509Certificate2 root, X509Certificate2 leaf)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    /// <summary>
    /// Plateau or growth. A leak shows as live data that grows: the heap after a forced full compacting GC, compared
    /// between the end of warm-up and the end of the run, and the memory outside the GC heap (working set minus the GC's
    /// committed bytes: native TLS and certificate objects, code, stacks). The GC's committed bytes themselves follow
    /// its own sizing (server GC keeps large allocation budgets when the machine has memory to spare) and are reported.
    /// </summary>
    private static string Verdict(List<Sample> samples)
    {
        Sample first = samples[0];
        Sample warm = samples.First(s => s.Collected);
        Sample end = samples[^1];
        string liveSeries = string.Join(", ", samples.Where(s => s.Collected).Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.HeapMb:F1} MB at {s.Seconds} s")));
        List<Sample> secondHalf = samples.Where(s => !s.Collected && s.Seconds >= end.Seconds / 2).ToList();
        double slope = Slope(secondHalf, s => s.WorkingSetMb);
        double committedSlope = Slope(secondHalf, s => s.CommittedMb);
        double liveGrowth = end.HeapMb - warm.HeapMb;
        double nativeWarm = warm.WorkingSetMb - warm.CommittedMb;
        double nativeEnd = end.WorkingSetMb - end.CommittedMb;
        bool liveFlat = liveGrowth < Math.Max(5, warm.HeapMb * 0.1);
        bool nativeFlat = nativeEnd - nativeWarm < Math.Max(10, nativeWarm * 0.15);
        return string.Create(CultureInfo.InvariantCulture, $"""
            Working set: {first.WorkingSetMb:F1} MB at the first sample, {warm.WorkingSetMb:F1} MB after warm-up ({warm.Seconds} s), {samples.Max(s => s.WorkingSetMb):F1} MB at most, {end.WorkingSetMb:F1} MB at the end ({end.Seconds} s); over the second half {slope:+0.00;-0.00} MB/min, of which the GC's committed bytes {committedSlope:+0.00;-0.00} MB/min.
            Live heap after each full GC: {liveSeries}: {liveGrowth:+0.0;-0.0} MB from warm-up to the end.
            Outside the GC heap (working set - committed): {nativeWarm:F1} MB after warm-up, {nativeEnd:F1} MB at the end.
            Verdict: {(liveFlat && nativeFlat ? "PLATEAU: live data flat after warm-up, no leak" : liveFlat ? "GROWTH outside the GC heap (native): look for undisposed native objects" : "GROWTH of live data: a leak")}
            """);
    }

    private static double Slope(List<Sample> samples, Func<Sample, double> value)
    {
        if (samples.Count < 2)
        {
            return 0;
        }

        double meanX = samples.Average(s => s.Seconds / 60.0);
        double meanY = samples.Average(value);
        double num = samples.Sum(s => ((s.Seconds / 60.0) - meanX) * (value(s) - meanY));
        double den = samples.Sum(s => Math.Pow((s.Seconds / 60.0) - meanX, 2));
        return den == 0 ? 0 : num / den;
    }

    private static double Option(string[] args, string name, double fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? double.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}

internal enum Kind { Token, InvalidToken, Forwarded, UserContext }

/// <summary>Answers by kind of request and status.</summary>
internal sealed class Counts
{
    private readonly long[,] _byKind = new long[4, 4]; // kind × (expected, other status, connection failure, total)
    private long _total;

    public long Total => Interlocked.Read(ref _total);

    public long Unexpected
    {
        get
        {
            long sum = 0;
            for (int k = 0; k < 4; k++)
            {
                sum += Interlocked.Read(ref _byKind[k, 1]) + Interlocked.Read(ref _byKind[k, 2]);
            }

            return sum;
        }
    }

    public void Add(Kind kind, int status, int expected)
    {
        Interlocked.Increment(ref _total);
        Interlocked.Increment(ref _byKind[(int)kind, 3]);
        Interlocked.Increment(ref _byKind[(int)kind, status == expected ? 0 : status < 0 ? 2 : 1]);
    }

    public string Describe(TimeSpan elapsed)
    {
        var lines = new List<string> { string.Create(CultureInfo.InvariantCulture, $"{Total:N0} requests in {elapsed.TotalSeconds:F0} s ({Total / elapsed.TotalSeconds:F0}/s):") };
        string[] expected = ["200", "401", "200", "200"];
        for (int k = 0; k < 4; k++)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"  {(Kind)k,-13} {_byKind[k, 3],10:N0}  as expected ({expected[k]}) {_byKind[k, 0]:N0}, other status {_byKind[k, 1]:N0}, connection failures {_byKind[k, 2]:N0}"));
        }

        return string.Join(Environment.NewLine, lines);
    }
}

/// <summary>One line from the server: its memory and the sizes of its caches.</summary>
internal sealed record Sample(bool Collected, long Seconds, long Requests, double WorkingSetMb, double HeapMb, double CommittedMb, int Gen2, int Tokens, int HeaderObjects, int UserContexts, int ForwardedVerdicts, int CallerClaims, int Threads)
{
    public const string Header = "|   t (s) |   requests | working set MB | GC heap MB | committed MB | gen2 GCs | tokens cached | header objects | user contexts | forwarded verdicts | caller claims | threads |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    public static Sample Parse(string line, long requests)
    {
        string[] p = line.Split(' ');
        const double Mb = 1024 * 1024;
        return new Sample(
            p[0] == "collected",
            long.Parse(p[1], CultureInfo.InvariantCulture),
            requests,
            long.Parse(p[2], CultureInfo.InvariantCulture) / Mb,
            long.Parse(p[3], CultureInfo.InvariantCulture) / Mb,
            long.Parse(p[4], CultureInfo.InvariantCulture) / Mb,
            int.Parse(p[5], CultureInfo.InvariantCulture),
            int.Parse(p[6], CultureInfo.InvariantCulture),
            int.Parse(p[7], CultureInfo.InvariantCulture),
            int.Parse(p[8], CultureInfo.InvariantCulture),
            int.Parse(p[9], CultureInfo.InvariantCulture),
            int.Parse(p[10], CultureInfo.InvariantCulture),
            int.Parse(p[11], CultureInfo.InvariantCulture));
    }

    public string Row() => string.Create(CultureInfo.InvariantCulture,
        $"| {Seconds,7}{(Collected ? "*" : " ")} | {Requests,10:N0} | {WorkingSetMb,14:F1} | {HeapMb,10:F1} | {CommittedMb,12:F1} | {Gen2,8} | {Tokens,13:N0} | {HeaderObjects,14:N0} | {UserContexts,13:N0} | {ForwardedVerdicts,18:N0} | {CallerClaims,13:N0} | {Threads,7} |");
}
