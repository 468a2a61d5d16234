using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.Testing;

namespace SecureComms.Benchmarks.Server;

/// <summary>
/// One request through the whole ASP.NET Core pipeline (hosting, routing, authentication, authorization, a minimal
/// endpoint) with no socket, TLS or HTTP parsing: the server-side CPU a request costs in each of the load harness's
/// modes. Baseline: the endpoint alone, as the mTLS-only server runs it (the client certificate was checked in the
/// handshake). Then ASP.NET Core's authentication and authorization with a scheme that checks nothing, and full
/// SecureComms (handshake verdict, certificate-bound JWT from the validated-token cache, central policy).
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private const string Audience = "https://work.example.org";

    private readonly List<WebApplication> _apps = [];
    private InProcessServer _mutualTlsOnly = null!;
    private InProcessServer _trivialScheme = null!;
    private InProcessServer _secureComms = null!;
    private InProcessServer.RequestShape _plainRequest = null!;
    private InProcessServer.RequestShape _boundTokenRequest = null!;

    [GlobalSetup]
    public void Setup()
    {
        var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        WorkloadCertificate caller = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/load-client"));
        WorkloadCertificate server = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/work"));
        var issuer = new BenchmarkTokenIssuer();
        string token = issuer.CreateBoundToken(Audience, "load-client", "work", caller, TimeSpan.FromHours(4));
        _plainRequest = new InProcessServer.RequestShape("GET", "/work", caller.Certificate, null);
        _boundTokenRequest = _plainRequest with { Authorization = "Bearer " + token };

        _mutualTlsOnly = Start(_ => { });
        _trivialScheme = Start(builder =>
        {
            FrameworkOnlyAuthentication.AddScheme(builder.Services);
            builder.Services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        });
        WebApplication? secure = null;
        _secureComms = Start(
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0",
                    ["SecureComms:TokenValidation:Authority"] = BenchmarkTokenIssuer.Issuer,
                    ["SecureComms:TokenValidation:Audience"] = Audience,
                    ["SecureComms:Authorization:Rules:0:Name"] = "load-client-works",
                    ["SecureComms:Authorization:Rules:0:Callers:0"] = "spiffe://example.org/load-client",
                    ["SecureComms:Authorization:Rules:0:Paths:0"] = "/work",
                    ["SecureComms:Authorization:Rules:0:Methods:0"] = "GET",
                });
                builder.Services.AddSecureComms(builder.Configuration)
                    .UseCertificateSource(new InMemoryCertificateSource(server))
                    .UseTrustBundleSource(new InMemoryTrustBundleSource(ca.CreateTrustBundle()));
                issuer.TrustIn(builder.Services);
            },
            app => secure = app);

        BenchmarkTokenIssuer.ValidateInHandshake(secure!.Services, caller);

        // Each mode answers as it should, or the figures mean nothing.
        Expect(_mutualTlsOnly, _plainRequest, StatusCodes.Status200OK);
        Expect(_trivialScheme, _plainRequest, StatusCodes.Status200OK);
        Expect(_secureComms, _boundTokenRequest, StatusCodes.Status200OK);
        Expect(_secureComms, _plainRequest, StatusCodes.Status401Unauthorized);
        Expect(_secureComms, _boundTokenRequest with { Path = "/other" }, StatusCodes.Status403Forbidden);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (WebApplication app in _apps)
        {
            app.StopAsync().GetAwaiter().GetResult();
            ((IDisposable)app).Dispose();
        }
    }

    [Benchmark(Baseline = true, Description = "endpoint only (the mTLS-only server)")]
    public Task<int> MutualTlsOnly() => _mutualTlsOnly.InvokeAsync(_plainRequest);

    [Benchmark(Description = "ASP.NET Core authentication + authorization, a scheme that checks nothing")]
    public Task<int> TrivialScheme() => _trivialScheme.InvokeAsync(_plainRequest);

    [Benchmark(Description = "full SecureComms (handshake verdict, cached bound JWT, central policy)")]
    public Task<int> FullSecureComms() => _secureComms.InvokeAsync(_boundTokenRequest);

    /// <summary>Runs one mode's request in a loop for <paramref name="duration"/> (for a profiler) and prints the rate.</summary>
    internal static async Task LoopAsync(string mode, TimeSpan duration)
    {
        var benchmarks = new PipelineBenchmarks();
        benchmarks.Setup();
        Func<Task<int>> request = mode switch
        {
            nameof(MutualTlsOnly) => benchmarks.MutualTlsOnly,
            nameof(TrivialScheme) => benchmarks.TrivialScheme,
            nameof(FullSecureComms) => benchmarks.FullSecureComms,
            _ => throw new ArgumentException($"Unknown mode {mode}; use {nameof(MutualTlsOnly)}, {nameof(TrivialScheme)} or {nameof(FullSecureComms)}.", nameof(mode)),
        };
        long count = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            for (int i = 0; i < 1000; i++)
            {
                await request();
            }

            count += 1000;
        }

        Console.WriteLine($"{mode}: {count} requests, {clock.Elapsed.TotalMicroseconds / count:0.00} µs each");
        benchmarks.Cleanup();
    }

    private InProcessServer Start(Action<WebApplicationBuilder> configure, Action<WebApplication>? started = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        var server = new InProcessServer();
        builder.Services.AddSingleton<IServer>(server);
        configure(builder);
        WebApplication app = builder.Build();
        app.MapGet("/work", () => "ok");
        app.MapGet("/other", () => "ok");
        app.StartAsync().GetAwaiter().GetResult();
        _apps.Add(app);
        started?.Invoke(app);
        return server;
    }

    private static void Expect(InProcessServer server, InProcessServer.RequestShape request, int status)
    {
        int actual = server.InvokeAsync(request).GetAwaiter().GetResult();
        if (actual != status)
        {
            throw new InvalidOperationException($"{request.Method} {request.Path} answered {actual}, expected {status}; the setup is wrong.");
        }
    }
}
