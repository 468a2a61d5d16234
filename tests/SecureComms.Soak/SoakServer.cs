using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SecureComms.Soak;

/// <summary>
/// The server under soak: SecureComms configured from files as a deployment would be (SVID, key and bundle in a folder),
/// mTLS with bound tokens, a plaintext listener for a trusted proxy forwarding RFC 9440 certificates, user contexts from
/// a trusted gateway, a per-caller rate limit and the central policy. It answers the driver on stdin/stdout: "sample"
/// prints one line of memory figures and cache sizes, "collect" does the same after a forced full blocking GC, "quit" stops.
/// </summary>
internal static class SoakServer
{
    public const string Audience = "https://soak.example.org";
    public const string ServerId = "spiffe://example.org/soak-server";
    public const string GatewayId = "spiffe://example.org/gateway";

    public static async Task<int> RunAsync(string folder, string authority)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.WebHost.UseKestrel();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddFilter(level => level >= LogLevel.Error); // errors only; the 401s of the invalid tokens would be thousands of warnings
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0",
            ["SecureComms:Server:PlaintextEndpoints:proxy:Url"] = "http://127.0.0.1:0",
            ["SecureComms:Server:ForwardedCertificates:Format"] = "ClientCert",
            ["SecureComms:Server:ForwardedCertificates:TrustedProxies:0"] = "127.0.0.1",
            ["SecureComms:Certificate:CertificatePath"] = Path.Combine(folder, "server.pem"),
            ["SecureComms:Certificate:KeyPath"] = Path.Combine(folder, "server.key"),
            ["SecureComms:TrustBundles:example.org:Path"] = Path.Combine(folder, "bundle.pem"),
            ["SecureComms:TokenValidation:Authority"] = authority,
            ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
            ["SecureComms:TokenValidation:Audience"] = Audience,
            ["SecureComms:UserContext:TrustedGateways:0"] = GatewayId,
            ["SecureComms:Authorization:Rules:0:Name"] = "callers-work",
            ["SecureComms:Authorization:Rules:0:Callers:0"] = "spiffe://example.org/*",
            ["SecureComms:Authorization:Rules:0:Paths:0"] = "/work",
            ["SecureComms:Authorization:Rules:0:Methods:0"] = "GET",
            ["SecureComms:Authorization:Rules:1:Name"] = "gateway-users",
            ["SecureComms:Authorization:Rules:1:Callers:0"] = GatewayId,
            ["SecureComms:Authorization:Rules:1:Paths:0"] = "/user",
            ["SecureComms:Authorization:Rules:1:RequireUser"] = "true",
            ["SecureComms:Authorization:RateLimits:0:Callers:0"] = "spiffe://example.org/callers/*",
            ["SecureComms:Authorization:RateLimits:0:PermitLimit"] = "100000",
        });
        builder.Services.AddSecureComms(builder.Configuration);
        WebApplication app = builder.Build();
        app.MapGet("/work", () => "ok");
        app.MapGet("/user", (HttpContext context) => context.User.Identities.Count().ToString(CultureInfo.InvariantCulture));
        await app.StartAsync();

        string https = app.Urls.First(u => u.StartsWith("https://", StringComparison.Ordinal));
        string http = app.Urls.First(u => u.StartsWith("http://", StringComparison.Ordinal));
        Console.WriteLine($"ready {https} {http}");
        DateTimeOffset started = DateTimeOffset.UtcNow;
        while (await Console.In.ReadLineAsync() is { } command && command != "quit")
        {
            if (command == "collect")
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            }

            Console.WriteLine(Sample(app.Services, DateTimeOffset.UtcNow - started, command == "collect"));
        }

        await app.StopAsync();
        return 0;
    }

    private static string Sample(IServiceProvider services, TimeSpan uptime, bool afterFullGc)
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        GCMemoryInfo gc = GC.GetGCMemoryInfo(GCKind.Any);
        SecureCommsAuthenticationServices authentication = services.GetRequiredService<SecureCommsAuthenticationServices>();
        return string.Join(' ', [
            afterFullGc ? "collected" : "sample",
            ((long)uptime.TotalSeconds).ToString(CultureInfo.InvariantCulture),
            process.WorkingSet64.ToString(CultureInfo.InvariantCulture),
            GC.GetTotalMemory(forceFullCollection: false).ToString(CultureInfo.InvariantCulture),
            gc.TotalCommittedBytes.ToString(CultureInfo.InvariantCulture),
            GC.CollectionCount(2).ToString(CultureInfo.InvariantCulture),
            authentication.ValidatedTokens.Count.ToString(CultureInfo.InvariantCulture),
            authentication.ValidatedTokens.RememberedHeaderCount.ToString(CultureInfo.InvariantCulture),
            authentication.UserContexts.VerifiedCount.ToString(CultureInfo.InvariantCulture),
            authentication.ForwardedCertificates.KeptVerdicts.ToString(CultureInfo.InvariantCulture),
            WorkloadIdentity.CachedCallers.ToString(CultureInfo.InvariantCulture),
            System.Threading.ThreadPool.ThreadCount.ToString(CultureInfo.InvariantCulture),
        ]);
    }
}
