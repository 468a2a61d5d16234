using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SecureComms;
using SecureComms.Load;
using SecureComms.Testing;

// End-to-end load harness: the same GET /work under TLS only, mTLS only and full SecureComms, driven by the same
// client load on loopback; then handshake-bound runs (a new connection per request) with and without TLS resumption.
//   dotnet run -c Release --project benchmarks/SecureComms.Load -- [--duration 10] [--warmup 2] [--concurrency 32] [--out file.md]
//   dotnet run -c Release --project benchmarks/SecureComms.Load -- --smoke     (1 s per run; exit 0 only if every run served requests without errors)
bool smoke = args.Contains("--smoke");
TimeSpan duration = TimeSpan.FromSeconds(smoke ? 1 : Option("--duration", 10));
TimeSpan warmup = TimeSpan.FromSeconds(smoke ? 0 : Option("--warmup", 2));
int concurrency = (int)Option("--concurrency", 32);
string? outFile = OptionText("--out");

const string Audience = "https://work.example.org";
SpiffeId client = SpiffeId.Parse("spiffe://example.org/load-client");
using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
WorkloadCertificate serverSvid = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/work"), TimeSpan.FromHours(4));
WorkloadCertificate clientSvid = ca.IssueSvid(client, TimeSpan.FromHours(4));
await using DevelopmentTokenServer tokens = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
{
    ServerCertificate = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/token-server"), TimeSpan.FromHours(4)),
    ClientTrust = ca.CreateTrustBundle(),
    TokenLifetime = TimeSpan.FromHours(1),
    Clients = [new DevelopmentClient { ClientId = "load-client", TlsClientAuthSanUri = client, AllowedScopes = ["work"], AllowedResources = [Audience] }],
});

await using WebApplication tlsOnly = await LoadServers.StartTlsOnlyAsync(serverSvid);
await using WebApplication mtlsOnly = await LoadServers.StartMutualTlsOnlyAsync(serverSvid, ca.Certificate);
await using WebApplication secure = await LoadServers.StartSecureCommsAsync(ca, serverSvid, tokens, Audience, client);

// The full mode's caller is a SecureComms client from IHttpClientFactory: SVID, server SPIFFE ID check, bound token.
var clientServices = new ServiceCollection();
SecureClientOptions WorkClient() => new()
{
    BaseAddress = LoadServers.Address(secure),
    ExpectedServer = "spiffe://example.org/work",
    Token = new AccessTokenOptions
    {
        Authority = new Uri(tokens.Issuer.GetLeftPart(UriPartial.Authority)),
        ExpectedServer = "spiffe://example.org/token-server",
        ClientId = "load-client",
        Scope = "work",
        Resource = new Uri(Audience),
    },
};
var tokenCopy = new BearerTokenCopy();
clientServices.AddSecureCommsCore(o =>
{
    o.Clients["work"] = WorkClient();
    o.Clients["token-copy"] = WorkClient(); // same settings; copies its bound token for the handshake-bound runs
}).UseCertificateSource(new InMemoryCertificateSource(clientSvid)).UseTrustBundleSource(new InMemoryTrustBundleSource(ca.CreateTrustBundle()));
clientServices.AddHttpClient("work").AddSecureComms();
clientServices.AddHttpClient("token-copy").AddSecureComms().AddHttpMessageHandler(() => tokenCopy);
await using ServiceProvider clients = clientServices.BuildServiceProvider();
HttpClient secureClient = clients.GetRequiredService<IHttpClientFactory>().CreateClient("work");
// The baselines also come from IHttpClientFactory (with its logging handlers), as a team's hand-written client would.
var plainServices = new ServiceCollection();
plainServices.AddHttpClient("tls", c => c.BaseAddress = LoadServers.Address(tlsOnly)).ConfigurePrimaryHttpMessageHandler(() => LoadServers.PlainHandler(ca.Certificate, null));
plainServices.AddHttpClient("mtls", c => c.BaseAddress = LoadServers.Address(mtlsOnly)).ConfigurePrimaryHttpMessageHandler(() => LoadServers.PlainHandler(ca.Certificate, clientSvid));
await using ServiceProvider plainClients = plainServices.BuildServiceProvider();
HttpClient tlsClient = plainClients.GetRequiredService<IHttpClientFactory>().CreateClient("tls");
HttpClient mtlsClient = plainClients.GetRequiredService<IHttpClientFactory>().CreateClient("mtls");

// Correctness first: the full mode really checks a bound token (without it 401, with it 200).
using (var unauthenticated = new HttpClient(LoadServers.PlainHandler(ca.Certificate, clientSvid)) { BaseAddress = LoadServers.Address(secure) })
{
    HttpStatusCode withoutToken = (await unauthenticated.GetAsync(new Uri("/work", UriKind.Relative))).StatusCode;
    HttpStatusCode withToken = (await secureClient.GetAsync(new Uri("/work", UriKind.Relative))).StatusCode;
    if (withoutToken != HttpStatusCode.Unauthorized || withToken != HttpStatusCode.OK)
    {
        Console.Error.WriteLine($"Full SecureComms mode is not what it claims: without a token {withoutToken} (expected 401), with one {withToken} (expected 200).");
        return 1;
    }
}

await clients.GetRequiredService<IHttpClientFactory>().CreateClient("token-copy").GetAsync(new Uri("/work", UriKind.Relative));
string boundToken = tokenCopy.Token ?? throw new InvalidOperationException("No certificate-bound token was obtained.");
var work = new Uri("/work", UriKind.Relative);
var results = new List<LoadResult>();
foreach ((Version version, string shape) in new[] { (HttpVersion.Version11, $"HTTP/1.1 keep-alive, {concurrency} callers"), (HttpVersion.Version20, $"HTTP/2 keep-alive, {concurrency} streams") })
{
    results.Add(await LoadRun.RunAsync("TLS only", shape, concurrency, warmup, duration, ct => SendAsync(tlsClient, version, ct)));
    results.Add(await LoadRun.RunAsync("mTLS only", shape, concurrency, warmup, duration, ct => SendAsync(mtlsClient, version, ct)));
    results.Add(await LoadRun.RunAsync("full SecureComms", shape, concurrency, warmup, duration, ct => SendAsync(secureClient, version, ct)));
}

// Handshake-bound: every request on a new connection (Connection: close), fewer callers, with and without resumption.
int handshakeCallers = Math.Max(1, concurrency / 4);
foreach (bool resume in new[] { true, false })
{
    string shape = $"new connection per request, TLS resumption {(resume ? "allowed" : "off")}, {handshakeCallers} callers";
    using var mtls = new HttpClient(LoadServers.PlainHandler(ca.Certificate, clientSvid, resume)) { BaseAddress = LoadServers.Address(mtlsOnly) };
    using var full = new HttpClient(LoadServers.PlainHandler(ca.Certificate, clientSvid, resume)) { BaseAddress = LoadServers.Address(secure) };
    results.Add(await LoadRun.RunAsync("mTLS only", shape, handshakeCallers, warmup, duration, ct => SendAsync(mtls, HttpVersion.Version11, ct, closeConnection: true)));
    results.Add(await LoadRun.RunAsync("full SecureComms", shape, handshakeCallers, warmup, duration, ct => SendAsync(full, HttpVersion.Version11, ct, closeConnection: true, bearer: boundToken)));
}

// --allocation-types: which types the HTTP/2 keep-alive load allocates, mTLS only against full SecureComms.
if (args.Contains("--allocation-types"))
{
    foreach ((string mode, HttpClient caller) in new[] { ("mTLS only", mtlsClient), ("full SecureComms", secureClient) })
    {
        using var sampler = new SecureComms.Benchmarks.Diagnostics.AllocationSampler();
        _ = await LoadRun.RunAsync(mode, "types", concurrency, TimeSpan.Zero, duration, ct => SendAsync(caller, HttpVersion.Version20, ct));
        Console.WriteLine($"{mode}, HTTP/2: most allocated types (one sample per ~100 KB)");
        foreach (string line in sampler.Top(25))
        {
            Console.WriteLine(line);
        }
    }
}

string table = Table(results);
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

static async Task<bool> SendAsync(HttpClient client, Version version, CancellationToken cancellationToken, bool closeConnection = false, string? bearer = null)
{
    using var request = new HttpRequestMessage(HttpMethod.Get, "/work") { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
    if (closeConnection)
    {
        request.Headers.ConnectionClose = true;
    }

    if (bearer is not null)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
    }

    using HttpResponseMessage response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
    string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    return response.StatusCode == HttpStatusCode.OK && body == LoadServers.Body;
}

static string Table(List<LoadResult> results)
{
    var text = new StringBuilder();
    text.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC; client and server in one process on loopback.");
    text.AppendLine();
    text.AppendLine("| load | mode | requests/s | p50 ms | p99 ms | p99.9 ms | allocated B/request | requests/s vs mTLS only | p99 vs mTLS only |");
    text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    foreach (LoadResult result in results)
    {
        LoadResult? baseline = results.Find(r => r.Shape == result.Shape && r.Mode == "mTLS only");
        string ratio = baseline is null ? "—" : (result.RequestsPerSecond / baseline.RequestsPerSecond).ToString("0.00", CultureInfo.InvariantCulture) + "×";
        string p99 = baseline is null ? "—" : ((result.P99Ms - baseline.P99Ms) >= 0 ? "+" : "") + (result.P99Ms - baseline.P99Ms).ToString("0.000", CultureInfo.InvariantCulture) + " ms";
        text.AppendLine(CultureInfo.InvariantCulture, $"| {result.Shape} | {result.Mode} | {result.RequestsPerSecond:0} | {result.P50Ms:0.000} | {result.P99Ms:0.000} | {result.P999Ms:0.000} | {result.AllocatedBytesPerRequest:0} | {ratio} | {p99} |");
    }

    text.AppendLine();
    text.AppendLine("Allocated bytes are the whole process's (client + server + Kestrel) divided by requests. Errors: " +
        string.Join(", ", results.Select(r => r.Errors)).Replace(", ", "/", StringComparison.Ordinal) + ".");
    return text.ToString();
}

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
