using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.ClientFactory;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SecureComms;
using SecureComms.Load;
using SecureComms.Load.ByHand;
using SecureComms.Load.Processes;
using SecureComms.Load.Sidecar;
using SecureComms.Load.Rpc;
using SecureComms.Testing;
using static SecureComms.Load.WorkRequests;

// End-to-end load harness: the same GET /work under TLS only, mTLS only and full SecureComms, driven by the same
// client load on loopback, beside what a team would otherwise run: the same checks by hand with the stock ASP.NET Core
// packages ("by-hand") and a mesh's hop played by two nginx sidecars ("sidecar", skipped when nginx is missing); a gRPC unary call (Grpc.AspNetCore service, Grpc.Net.Client from IHttpClientFactory) under
// mTLS only and full SecureComms; then handshake-bound runs (a new connection per request) with and without TLS resumption.
//   dotnet run -c Release --project benchmarks/SecureComms.Load -- [--duration 10] [--warmup 2] [--concurrency 32] [--out file.md]
//   dotnet run -c Release --project benchmarks/SecureComms.Load -- --only "plain client" --duration 30   (one mode, e.g. under dotnet-trace)
//   dotnet run -c Release --project benchmarks/SecureComms.Load -- --smoke     (1 s per run; exit 0 only if every run served requests without errors)
//   dotnet run -c Release --project benchmarks/SecureComms.Load -- --only by-hand --duration 5   (or --only sidecar: one new mode alone)
//   dotnet run -c Release --project benchmarks/SecureComms.Load -- --only-load gRPC --duration 20 --rounds 3   (the gRPC modes only)
//   benchmarks/profile-load.sh     (one load under perf per mode, then --attribute: where a request's CPU goes, by owner)
// Saturated runs (fixed callers, as fast as they go) measure throughput; fixed-rate runs (--rate 1000 over
// --rate-callers 16, as published mesh latency figures are measured) measure the latency a request's checks add.
// --attribute <label> <perf script output> <CPU µs per request> ...: CPU per request by owner for each profiled run.
int attribute = Array.IndexOf(args, "--attribute");
if (attribute >= 0)
{
    var profiled = new List<(string, string, double)>();
    for (int i = attribute + 1; i + 2 < args.Length; i += 3)
    {
        profiled.Add((args[i], args[i + 1], double.Parse(args[i + 2], CultureInfo.InvariantCulture)));
    }

    Console.WriteLine(CpuAttribution.Report(profiled));
    return 0;
}

// --serve <kind> ...: one server alone in this process (started by --processes).
if (OptionText("--serve") is { } serve)
{
    return await ServerProcess.RunAsync(serve, OptionText("--material")!, new Uri(OptionText("--issuer")!), OptionText("--audience")!, SpiffeId.Parse(OptionText("--caller")!));
}

// --processes: every server mode in a process of its own, client and server pinned to different cores (--no-pin: not).
if (args.Contains("--processes"))
{
    bool pin = !args.Contains("--no-pin") && CpuPinning.Possible;
    if (pin && !CpuPinning.IsPinned)
    {
        return await CpuPinning.RunPinnedAsync(args);
    }

    bool smokeRun = args.Contains("--smoke");
    return await SeparateProcessesRun.RunAsync(new SeparateProcessesSettings(
        TimeSpan.FromSeconds(smokeRun ? 1 : Option("--duration", 10)),
        TimeSpan.FromSeconds(smokeRun ? 0 : Option("--warmup", 2)),
        smokeRun ? 1 : (int)Option("--rounds", 3),
        (int)Option("--concurrency", 32),
        Option("--rate", 1000),
        (int)Option("--rate-callers", 16),
        smokeRun,
        OptionText("--only"),
        OptionText("--out"),
        pin));
}

// --churn: rotations of both SVIDs and the issuer's signing key while the full mode runs under load.
if (args.Contains("--churn"))
{
    return await SecureComms.Load.Churn.ChurnRun.RunAsync(args);
}

bool smoke = args.Contains("--smoke");
TimeSpan duration = TimeSpan.FromSeconds(smoke ? 1 : Option("--duration", 10));
TimeSpan warmup = TimeSpan.FromSeconds(smoke ? 0 : Option("--warmup", 2));
int concurrency = (int)Option("--concurrency", 32);
string? outFile = OptionText("--out");
string? only = OptionText("--only"); // profiling: run only the modes whose name contains this text
string? onlyLoad = OptionText("--only-load"); // and only the loads whose description contains this text
int rounds = smoke ? 1 : (int)Option("--rounds", 3); // every mode once per round; the table gives medians and per-round ratios
double rate = Option("--rate", 1000); // the fixed-rate latency runs: requests per second over --rate-callers callers
int rateCallers = (int)Option("--rate-callers", 16);

const string Audience = "https://work.example.org";
const string ByHandMode = "by-hand: stock ASP.NET Core (Certificate + JwtBearer + binding handler + policy)";
const string SidecarMode = "sidecar: nginx → mTLS → nginx → the app on its trusted-proxy path (same checks as full mode)";
SpiffeId client = SpiffeId.Parse("spiffe://example.org/load-client");
using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
WorkloadCertificate serverSvid = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/work"), TimeSpan.FromHours(4));
WorkloadCertificate clientSvid = ca.IssueSvid(client, TimeSpan.FromHours(4));
await using DevelopmentTokenServer tokens = await LoadServers.StartTokenServerAsync(ca, client, Audience);

await using WebApplication tlsOnly = await LoadServers.StartTlsOnlyAsync(serverSvid);
await using WebApplication mtlsOnly = await LoadServers.StartMutualTlsOnlyAsync(serverSvid, ca.Certificate);
await using WebApplication mtlsFramework = await LoadServers.StartMutualTlsWithFrameworkAuthAsync(serverSvid, ca.Certificate);
await using WebApplication secure = await LoadServers.StartSecureCommsAsync(ca.CreateTrustBundle(), serverSvid, tokens.Issuer, Audience, client);
// The same checks written by hand with the stock packages (Certificate + JwtBearer + a binding handler + a policy).
await using WebApplication byHand = await ByHandServer.StartAsync(serverSvid, ca.Certificate, tokens.Issuer, Audience, client);
// The sidecar mode, a mesh's hop: the caller speaks plaintext to a client nginx, which originates mutual TLS with the
// caller's SVID to a server nginx, which terminates it and forwards to the app's plaintext listener with the client
// certificate in a header. The app behind is SecureComms on its trusted-proxy path with the full mode's token validation
// and policy: the same checks as the full mode (SVID validation of the forwarded certificate, the bound token, the
// policy), the certificate coming from the proxy instead of the app's own handshake. The caller adds the bound token.
await using WebApplication behindSidecars = await LoadServers.StartSecureCommsAsync(ca.CreateTrustBundle(), serverSvid, tokens.Issuer, Audience, client, behindProxy: true);
NginxSidecars? sidecars = null;
string? sidecarSkipped = null;
if (only is null || SidecarMode.Contains(only, StringComparison.OrdinalIgnoreCase))
{
    if (NginxSidecars.Find() is not { } nginx)
    {
        sidecarSkipped = "nginx is not installed (Debian: apt-get install -y nginx, or set NGINX to its path)";
        Console.Error.WriteLine($"Sidecar mode skipped: {sidecarSkipped}.");
    }
    else
    {
        try
        {
            // nginx checks the server sidecar's certificate by host name: the server SVID's common name, "work".
            sidecars = await NginxSidecars.StartAsync(nginx, ca, clientSvid, serverSvid, "work", LoadServers.PlaintextAddress(behindSidecars));
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }
    }
}

await using NginxSidecars? sidecarPair = sidecars;
await using WebApplication mtlsGrpc = await LoadServers.StartMutualTlsOnlyGrpcAsync(serverSvid, ca.Certificate);
await using WebApplication secureGrpc = await LoadServers.StartSecureCommsAsync(ca.CreateTrustBundle(), serverSvid, tokens.Issuer, Audience, client, grpc: true);
// The gateway hop: a YARP gateway (TLS outside, no client certificate) forwarding to the full SecureComms server through
// a SecureComms client with the load client's SVID and bound token; compared with calling that server directly.
(WebApplication gateway, Uri gatewayEdge) = await LoadServers.StartYarpGatewayAsync(
    ca, clientSvid, ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/gateway-edge"), TimeSpan.FromHours(4)), tokens, Audience, LoadServers.Address(secure));
await using WebApplication gatewayApp = gateway;

// The full mode's caller is a SecureComms client from IHttpClientFactory: SVID, server SPIFFE ID check, bound token.
var clientServices = new ServiceCollection();
SecureClientOptions WorkClient(Uri? address) => LoadServers.SecureCommsClient(address, tokens.Issuer, Audience);
var tokenCopy = new BearerTokenCopy();
clientServices.AddSecureCommsCore(o =>
{
    o.Clients["work"] = WorkClient(LoadServers.Address(secure));
    o.Clients["by-hand"] = WorkClient(LoadServers.Address(byHand)); // the same client, tokens and SVID, at the by-hand server
    o.Clients["token-copy"] = WorkClient(LoadServers.Address(secure)); // same settings; copies its bound token for the handshake-bound runs
    o.Clients["grpc-work"] = WorkClient(null); // the gRPC client's token settings; its address is the gRPC client's own
}).UseCertificateSource(new InMemoryCertificateSource(clientSvid)).UseTrustBundleSource(new InMemoryTrustBundleSource(ca.CreateTrustBundle()));
clientServices.AddHttpClient("work").AddSecureComms();
clientServices.AddHttpClient("by-hand").AddSecureComms();
clientServices.AddHttpClient("token-copy").AddSecureComms().AddHttpMessageHandler(() => tokenCopy);
// The full gRPC mode's caller: a Grpc.Net.Client client from the gRPC client factory (IHttpClientFactory underneath)
// made a SecureComms client; it multiplexes its calls as HTTP/2 streams over one TLS connection.
clientServices.AddGrpcClient<Work.WorkClient>("grpc-work", o => o.Address = LoadServers.Address(secureGrpc)).AddSecureComms("spiffe://example.org/work");
await using ServiceProvider clients = clientServices.BuildServiceProvider();
HttpClient secureClient = clients.GetRequiredService<IHttpClientFactory>().CreateClient("work");
HttpClient byHandClient = clients.GetRequiredService<IHttpClientFactory>().CreateClient("by-hand");
Work.WorkClient secureGrpcClient = clients.GetRequiredService<GrpcClientFactory>().CreateClient<Work.WorkClient>("grpc-work");
// The baselines also come from IHttpClientFactory (with its logging handlers), as a team's hand-written client would.
var plainServices = new ServiceCollection();
plainServices.AddHttpClient("tls", c => c.BaseAddress = LoadServers.Address(tlsOnly)).ConfigurePrimaryHttpMessageHandler(() => LoadServers.PlainHandler(ca.Certificate, null));
plainServices.AddHttpClient("mtls", c => c.BaseAddress = LoadServers.Address(mtlsOnly)).ConfigurePrimaryHttpMessageHandler(() => LoadServers.PlainHandler(ca.Certificate, clientSvid));
// Diagnostic: the SecureComms server driven by the baseline's plain client (bound token added by hand), so that the
// server's share and the client's share of the difference can be told apart.
plainServices.AddHttpClient("mtls-framework", c => c.BaseAddress = LoadServers.Address(mtlsFramework)).ConfigurePrimaryHttpMessageHandler(() => LoadServers.PlainHandler(ca.Certificate, clientSvid));
plainServices.AddHttpClient("mtls-to-secure", c => c.BaseAddress = LoadServers.Address(secure)).ConfigurePrimaryHttpMessageHandler(() => LoadServers.PlainHandler(ca.Certificate, clientSvid));
// The gRPC baseline: the same gRPC client on the mTLS-only baseline's handler.
plainServices.AddGrpcClient<Work.WorkClient>("grpc-mtls", o => o.Address = LoadServers.Address(mtlsGrpc)).ConfigurePrimaryHttpMessageHandler(() => LoadServers.PlainHandler(ca.Certificate, clientSvid));
if (sidecars is not null)
{
    // The caller of the sidecar mode: plaintext to its local proxy, from IHttpClientFactory like the other baselines.
    plainServices.AddHttpClient("sidecar-http11", c => c.BaseAddress = sidecars.Http11Address).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) });
    plainServices.AddHttpClient("sidecar-http2", c => c.BaseAddress = sidecars.Http2Address).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) });
}

await using ServiceProvider plainClients = plainServices.BuildServiceProvider();
HttpClient tlsClient = plainClients.GetRequiredService<IHttpClientFactory>().CreateClient("tls");
using var gatewayClient = new HttpClient(LoadServers.PlainHandler(ca.Certificate, null)) { BaseAddress = gatewayEdge };
HttpClient mtlsClient = plainClients.GetRequiredService<IHttpClientFactory>().CreateClient("mtls");
HttpClient plainToSecureClient = plainClients.GetRequiredService<IHttpClientFactory>().CreateClient("mtls-to-secure");
HttpClient mtlsFrameworkClient = plainClients.GetRequiredService<IHttpClientFactory>().CreateClient("mtls-framework");
Work.WorkClient mtlsGrpcClient = plainClients.GetRequiredService<GrpcClientFactory>().CreateClient<Work.WorkClient>("grpc-mtls");

// Correctness first: the full mode really checks a bound token (without it 401, with it 200).
using (var unauthenticated = new HttpClient(LoadServers.PlainHandler(ca.Certificate, clientSvid)) { BaseAddress = LoadServers.Address(secure) })
{
    HttpStatusCode withoutToken = (await unauthenticated.GetAsync(new Uri("/work", UriKind.Relative))).StatusCode;
    HttpStatusCode withToken = (await secureClient.GetAsync(new Uri("/work", UriKind.Relative))).StatusCode;
    HttpStatusCode throughGateway = (await gatewayClient.GetAsync(new Uri("/work", UriKind.Relative))).StatusCode;
    if (withoutToken != HttpStatusCode.Unauthorized || withToken != HttpStatusCode.OK || throughGateway != HttpStatusCode.OK)
    {
        Console.Error.WriteLine($"Full SecureComms mode is not what it claims: without a token {withoutToken} (expected 401), with one {withToken} (expected 200), through the gateway {throughGateway} (expected 200).");
        return 1;
    }
}

// The by-hand baseline is no straw man: it answers the SecureComms client (200), and refuses a request without a token
// (401), a valid token bound to another certificate (403) and another caller with its own bound token (403).
WorkloadCertificate otherSvid = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/other-client"), TimeSpan.FromHours(1));
using (var asClient = new HttpClient(LoadServers.PlainHandler(ca.Certificate, clientSvid)) { BaseAddress = LoadServers.Address(byHand) })
using (var asOther = new HttpClient(LoadServers.PlainHandler(ca.Certificate, otherSvid)) { BaseAddress = LoadServers.Address(byHand) })
{
    string boundToOther = tokens.IssueUserToken("other-client", Audience, boundTo: otherSvid.Certificate);
    HttpStatusCode accepted = (await byHandClient.GetAsync(new Uri("/work", UriKind.Relative))).StatusCode;
    HttpStatusCode withoutToken = (await asClient.GetAsync(new Uri("/work", UriKind.Relative))).StatusCode;
    HttpStatusCode otherBinding = await StatusAsync(asClient, boundToOther);
    HttpStatusCode otherCaller = await StatusAsync(asOther, boundToOther);
    if (accepted != HttpStatusCode.OK || withoutToken != HttpStatusCode.Unauthorized || otherBinding != HttpStatusCode.Forbidden || otherCaller != HttpStatusCode.Forbidden)
    {
        Console.Error.WriteLine($"By-hand mode is not what it claims: the SecureComms client {accepted} (expected 200), without a token {withoutToken} (expected 401), a token bound to another certificate {otherBinding} (expected 403), another caller with its own bound token {otherCaller} (expected 403).");
        return 1;
    }
}

// The same for gRPC: a call without a token ends Unauthenticated, the SecureComms gRPC client's call succeeds.
using (GrpcChannel unauthenticated = GrpcChannel.ForAddress(LoadServers.Address(secureGrpc), new GrpcChannelOptions { HttpHandler = LoadServers.PlainHandler(ca.Certificate, clientSvid), DisposeHttpClient = true }))
{
    StatusCode withoutToken = await WorkCalls.StatusAsync(new Work.WorkClient(unauthenticated));
    StatusCode withToken = await WorkCalls.StatusAsync(secureGrpcClient);
    StatusCode baseline = await WorkCalls.StatusAsync(mtlsGrpcClient);
    if (withoutToken != StatusCode.Unauthenticated || withToken != StatusCode.OK || baseline != StatusCode.OK)
    {
        Console.Error.WriteLine($"The gRPC modes are not what they claim: full SecureComms without a token {withoutToken} (expected Unauthenticated), with one {withToken} (expected OK); mTLS only {baseline} (expected OK).");
        return 1;
    }
}

await clients.GetRequiredService<IHttpClientFactory>().CreateClient("token-copy").GetAsync(new Uri("/work", UriKind.Relative));
string boundToken = tokenCopy.Token ?? throw new InvalidOperationException("No certificate-bound token was obtained.");
var work = new Uri("/work", UriKind.Relative);
HttpClient? sidecarHttp11 = sidecars is null ? null : plainClients.GetRequiredService<IHttpClientFactory>().CreateClient("sidecar-http11");
HttpClient? sidecarHttp2 = sidecars is null ? null : plainClients.GetRequiredService<IHttpClientFactory>().CreateClient("sidecar-http2");
if (sidecarHttp11 is not null && sidecarHttp2 is not null)
{
    // Through the pair the bound token is accepted (HTTP/1.1 and h2c to the client sidecar) and its absence is 401.
    HttpStatusCode withToken = await StatusAsync(sidecarHttp11, boundToken);
    bool overHttp2 = await SendAsync(sidecarHttp2, HttpVersion.Version20, CancellationToken.None, bearer: boundToken);
    HttpStatusCode withoutToken = (await sidecarHttp11.GetAsync(work)).StatusCode;
    if (withToken != HttpStatusCode.OK || !overHttp2 || withoutToken != HttpStatusCode.Unauthorized)
    {
        Console.Error.WriteLine($"Sidecar mode is not what it claims: with the bound token {withToken} (expected 200), over h2c {(overHttp2 ? "200" : "not 200")} (expected 200), without a token {withoutToken} (expected 401).");
        return 1;
    }
}

var results = new List<LoadResult>();
int round = 0;
for (round = 1; round <= rounds; round++)
{
    foreach ((Version version, string shape) in new[] { (HttpVersion.Version11, $"HTTP/1.1 keep-alive, {concurrency} callers"), (HttpVersion.Version20, $"HTTP/2 keep-alive, {concurrency} streams") })
    {
        await Run("TLS only", shape, concurrency, warmup, duration, ct => SendAsync(tlsClient, version, ct));
        await Run("mTLS only", shape, concurrency, warmup, duration, ct => SendAsync(mtlsClient, version, ct));
        await Run("mTLS + ASP.NET Core auth, trivial scheme (diagnostic)", shape, concurrency, warmup, duration, ct => SendAsync(mtlsFrameworkClient, version, ct));
        await Run("full SecureComms", shape, concurrency, warmup, duration, ct => SendAsync(secureClient, version, ct));
        await Run(ByHandMode, shape, concurrency, warmup, duration, ct => SendAsync(byHandClient, version, ct));
        await RunSidecar(shape, version, concurrency, rate: false);
        await Run("gateway hop: YARP + SecureComms → full SecureComms", shape, concurrency, warmup, duration, ct => SendAsync(gatewayClient, version, ct));
        await Run("SecureComms server, plain client (diagnostic)", shape, concurrency, warmup, duration, ct => SendAsync(plainToSecureClient, version, ct, bearer: boundToken));
    }

    // gRPC unary: the same servers' set-up with a Grpc.AspNetCore service, called by Grpc.Net.Client over HTTP/2, as
    // many calls in flight as the HTTP runs have callers (multiplexed on one connection), then one caller back to back.
    foreach ((int callers, string shape) in new[] { (concurrency, $"gRPC unary, HTTP/2, {concurrency} calls in flight"), (1, "gRPC unary, HTTP/2, 1 caller back to back") })
    {
        await Run("mTLS only", shape, callers, warmup, duration, ct => WorkCalls.CallAsync(mtlsGrpcClient, ct));
        await Run("full SecureComms", shape, callers, warmup, duration, ct => WorkCalls.CallAsync(secureGrpcClient, ct));
    }

    // Latency at a fixed rate below saturation: what the checks add to a request, not queueing behind other callers.
    foreach ((Version version, string protocol) in new[] { (HttpVersion.Version11, "HTTP/1.1"), (HttpVersion.Version20, "HTTP/2") })
    {
        string shape = $"{protocol} keep-alive, fixed {rate:0} requests/s, {rateCallers} callers";
        await RunAtRate("TLS only", shape, ct => SendAsync(tlsClient, version, ct));
        await RunAtRate("mTLS only", shape, ct => SendAsync(mtlsClient, version, ct));
        await RunAtRate("full SecureComms", shape, ct => SendAsync(secureClient, version, ct));
        await RunAtRate(ByHandMode, shape, ct => SendAsync(byHandClient, version, ct));
        await RunSidecar(shape, version, rateCallers, rate: true);
    }

    // One caller, back to back: a request's latency with nothing to queue behind and no idle core to wake up (on a
    // VM, waking an idle vCPU costs more than the checks, which blurs the fixed-rate runs).
    foreach ((Version version, string protocol) in new[] { (HttpVersion.Version11, "HTTP/1.1"), (HttpVersion.Version20, "HTTP/2") })
    {
        string shape = $"{protocol} keep-alive, 1 caller back to back";
        await Run("TLS only", shape, 1, warmup, duration, ct => SendAsync(tlsClient, version, ct));
        await Run("mTLS only", shape, 1, warmup, duration, ct => SendAsync(mtlsClient, version, ct));
        await Run("full SecureComms", shape, 1, warmup, duration, ct => SendAsync(secureClient, version, ct));
        await Run(ByHandMode, shape, 1, warmup, duration, ct => SendAsync(byHandClient, version, ct));
        await RunSidecar(shape, version, 1, rate: false);
        await Run("gateway hop: YARP + SecureComms → full SecureComms", shape, 1, warmup, duration, ct => SendAsync(gatewayClient, version, ct));
    }

    // Handshake-bound: every request on a new connection (Connection: close), fewer callers, with and without resumption.
    int handshakeCallers = Math.Max(1, concurrency / 4);
    foreach (bool resume in new[] { true, false })
    {
        string shape = $"new connection per request, TLS resumption {(resume ? "allowed" : "off")}, {handshakeCallers} callers";
        using var mtls = new HttpClient(LoadServers.PlainHandler(ca.Certificate, clientSvid, resume)) { BaseAddress = LoadServers.Address(mtlsOnly) };
        using var full = new HttpClient(LoadServers.PlainHandler(ca.Certificate, clientSvid, resume)) { BaseAddress = LoadServers.Address(secure) };
        using var byHandNew = new HttpClient(LoadServers.PlainHandler(ca.Certificate, clientSvid, resume)) { BaseAddress = LoadServers.Address(byHand) };
        await Run("mTLS only", shape, handshakeCallers, warmup, duration, ct => SendAsync(mtls, HttpVersion.Version11, ct, closeConnection: true));
        await Run("full SecureComms", shape, handshakeCallers, warmup, duration, ct => SendAsync(full, HttpVersion.Version11, ct, closeConnection: true, bearer: boundToken));
        await Run(ByHandMode, shape, handshakeCallers, warmup, duration, ct => SendAsync(byHandNew, HttpVersion.Version11, ct, closeConnection: true, bearer: boundToken));
    }
}

// --allocation-types: which types the HTTP/2 keep-alive load allocates in each mode.
if (args.Contains("--allocation-types"))
{
    foreach ((string mode, HttpClient caller, string? bearer) in new[] { ("mTLS only", mtlsClient, null), ("mTLS + ASP.NET Core auth, trivial scheme", mtlsFrameworkClient, null), ("SecureComms server, plain client", plainToSecureClient, boundToken), ("full SecureComms", secureClient, null) })
    {
        using var sampler = new SecureComms.Benchmarks.Diagnostics.AllocationSampler();
        _ = await LoadRun.RunAsync(mode, "types", concurrency, TimeSpan.Zero, duration, ct => SendAsync(caller, HttpVersion.Version20, ct, bearer: bearer));
        Console.WriteLine($"{mode}, HTTP/2: most allocated types (one sample per ~100 KB)");
        foreach (string line in sampler.Top(40))
        {
            Console.WriteLine(line);
        }
    }
}

string table = Table(results);
if (sidecarSkipped is not null)
{
    table += $"Sidecar mode skipped: {sidecarSkipped}.{Environment.NewLine}";
}

Console.WriteLine(table);
if (outFile is not null)
{
    await File.WriteAllTextAsync(outFile, table);
}

bool clean = results.TrueForAll(r => r.Requests > 0 && r.Errors == 0);
if (!clean)
{
    foreach (LoadResult failed in results.Where(r => r.Requests == 0 || r.Errors > 0))
    {
        Console.Error.WriteLine($"{failed.Mode}, {failed.Shape}: {failed.Requests} requests, {failed.Errors} errors; first error: {failed.FirstError}");
    }
}

return clean ? 0 : 1;

async Task Run(string mode, string shape, int callers, TimeSpan warm, TimeSpan length, Func<CancellationToken, Task<bool>> call, Func<ProcessUsage>? proxies = null)
{
    if (Selected(mode, shape))
    {
        results.Add(await LoadRun.RunAsync(mode, shape, callers, warm, length, call, proxies) with { Round = round });
    }
}

async Task RunAtRate(string mode, string shape, Func<CancellationToken, Task<bool>> call, Func<ProcessUsage>? proxies = null)
{
    if (Selected(mode, shape))
    {
        results.Add(await LoadRun.RunAtRateAsync(mode, shape, rateCallers, smoke ? Math.Min(rate, 200) : rate, warmup, duration, call, proxies) with { Round = round });
    }
}

// The sidecar mode in a load (when nginx runs): HTTP/1.1 or h2c to the client sidecar (HTTP/1.1 between the proxies
// and to the app either way: nginx proxies in HTTP/1.x), the bound token added by the caller, both nginx processes' CPU
// counted with the run's.
async Task RunSidecar(string shape, Version version, int callers, bool rate)
{
    if (sidecars is null || sidecarHttp11 is null || sidecarHttp2 is null)
    {
        return;
    }

    HttpClient caller = version == HttpVersion.Version20 ? sidecarHttp2 : sidecarHttp11;
    if (rate)
    {
        await RunAtRate(SidecarMode, shape, ct => SendAsync(caller, version, ct, bearer: boundToken), sidecars.ReadUsage);
    }
    else
    {
        await Run(SidecarMode, shape, callers, warmup, duration, ct => SendAsync(caller, version, ct, bearer: boundToken), sidecars.ReadUsage);
    }
}

bool Selected(string mode, string shape) =>
    (only is null || mode.Contains(only, StringComparison.OrdinalIgnoreCase))
    && (onlyLoad is null || shape.Contains(onlyLoad, StringComparison.OrdinalIgnoreCase));

static string Table(List<LoadResult> results)
{
    var text = new StringBuilder();
    int roundCount = results.Count == 0 ? 0 : results.Max(r => r.Round);
    text.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC; client and server in one process on loopback; {roundCount} round(s), medians.");
    text.AppendLine();
    text.AppendLine("| load | mode | requests/s | p50 ms | p99 ms | p99.9 ms | CPU µs/request | context switches/request | allocated B/request | gen-2 GCs | requests/s vs mTLS only | p99 vs mTLS only | CPU/request vs mTLS only |");
    text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    foreach (IGrouping<(string Shape, string Mode), LoadResult> runs in results.GroupBy(r => (r.Shape, r.Mode)))
    {
        // Ratios are taken within a round (modes of one round ran minutes apart at most), then the median over rounds.
        var ratios = new List<double>();
        var p99Deltas = new List<double>();
        var cpuDeltas = new List<double>();
        foreach (LoadResult run in runs)
        {
            if (results.Find(r => r.Shape == run.Shape && r.Mode == "mTLS only" && r.Round == run.Round) is { } baseline)
            {
                ratios.Add(run.RequestsPerSecond / baseline.RequestsPerSecond);
                p99Deltas.Add(run.P99Ms - baseline.P99Ms);
                cpuDeltas.Add(run.CpuMicrosecondsPerRequest - baseline.CpuMicrosecondsPerRequest);
            }
        }

        string ratio = ratios.Count == 0 ? "—" : Median(ratios).ToString("0.00", CultureInfo.InvariantCulture) + "×" + (ratios.Count > 1 ? $" ({ratios.Min().ToString("0.00", CultureInfo.InvariantCulture)}–{ratios.Max().ToString("0.00", CultureInfo.InvariantCulture)})" : "");
        string p99 = p99Deltas.Count == 0 ? "—" : Signed(Median(p99Deltas), "0.000") + " ms";
        string cpu = cpuDeltas.Count == 0 ? "—" : Signed(Median(cpuDeltas), "0.0") + " µs";
        double switches = Median(runs.Select(r => r.ContextSwitchesPerRequest));
        text.AppendLine(CultureInfo.InvariantCulture, $"| {runs.Key.Shape} | {runs.Key.Mode} | {Median(runs.Select(r => r.RequestsPerSecond)):0} | {Median(runs.Select(r => r.P50Ms)):0.000} | {Median(runs.Select(r => r.P99Ms)):0.000} | {Median(runs.Select(r => r.P999Ms)):0.000} | {Median(runs.Select(r => r.CpuMicrosecondsPerRequest)):0.0} | {(switches < 0 ? "—" : switches.ToString("0.00", CultureInfo.InvariantCulture))} | {Median(runs.Select(r => r.AllocatedBytesPerRequest)):0} | {runs.Sum(r => r.Gen2Collections)} | {ratio} | {p99} | {cpu} |");
    }

    text.AppendLine();
    long errors = results.Sum(r => r.Errors);
    List<LoadResult> fixedRate = results.FindAll(r => r.Shape.Contains("fixed", StringComparison.Ordinal));
    text.AppendLine(CultureInfo.InvariantCulture, $"Allocated bytes are the whole process's (client + server + Kestrel) divided by requests. {results.Sum(r => r.Requests)} requests in {results.Count} runs, {(errors == 0 ? "none failed" : $"{errors} failed")}.");
    foreach (IGrouping<string, LoadResult> proxied in results.Where(r => r.ProxyCpuMicrosecondsPerRequest >= 0).GroupBy(r => r.Shape))
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"Sidecar mode, {proxied.Key}: its CPU per request includes the two nginx processes (one master and one worker each, /proc/<pid>/stat), {Median(proxied.Select(r => r.ProxyCpuMicrosecondsPerRequest)):0.0} µs of it; its allocated bytes are the .NET process's only.");
    }

    if (fixedRate.Count > 0)
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"Fixed-rate requests that started more than one interval behind their schedule: {fixedRate.Sum(r => r.LateStarts)} of {fixedRate.Sum(r => r.Requests)}.");
    }
    return text.ToString();
}

static string Signed(double value, string format) => (value >= 0 ? "+" : "") + value.ToString(format, CultureInfo.InvariantCulture);

static double Median(IEnumerable<double> values) => Statistics.Median(values);

double Option(string name, double fallback)
{
    string? value = OptionText(name);
    return value is null ? fallback : double.Parse(value, CultureInfo.InvariantCulture);
}

string? OptionText(string name)
{
    int index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

/// <summary>Keeps the bearer token a SecureComms client sent, for the runs that open a connection per request.</summary>
internal sealed class BearerTokenCopy : DelegatingHandler
{
    public string? Token { get; private set; }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Token = request.Headers.Authorization?.Parameter ?? Token;
        return base.SendAsync(request, cancellationToken);
    }
}
