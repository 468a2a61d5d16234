using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.Testing;

namespace SecureComms.Demo;

/// <summary>One workload of the demo: a real Kestrel service on loopback with its own SVID from the development CA.</summary>
internal sealed class DemoService : IAsyncDisposable
{
    private DemoService(string name, SpiffeId id, WebApplication app, InMemoryCertificateSource? certificates)
    {
        Certificates = certificates;
        Name = name;
        SpiffeId = id;
        App = app;
        Address = new Uri(app.Urls.First(u => u.StartsWith("https://", StringComparison.Ordinal)));
    }

    public string Name { get; }

    public SpiffeId SpiffeId { get; }

    public WebApplication App { get; }

    public Uri Address { get; }

    /// <summary>The in-memory certificate source, or <see langword="null"/> when the identity comes from a Workload API.</summary>
    public InMemoryCertificateSource? Certificates { get; }

    /// <summary>The X.509-SVID the service presents now.</summary>
    public WorkloadCertificate CurrentCertificate => App.Services.GetRequiredService<ICertificateSource>().Current;

    /// <summary>
    /// Starts a service configured the way a real one is: the SecureComms section plus the one-line registration, and
    /// optionally a JSON settings file that reloads on change. With <paramref name="workloadApi"/> the identity and the trust
    /// bundles come from that SPIFFE Workload API server through configuration alone, as in production with a SPIRE agent.
    /// </summary>
    public static async Task<DemoService> StartAsync(
        string name,
        DevelopmentCertificateAuthority ca,
        IDictionary<string, string?> settings,
        Action<WebApplication> map,
        Action<IServiceCollection>? services = null,
        string? settingsFile = null,
        DevelopmentWorkloadApiServer? workloadApi = null)
    {
        SpiffeId id = SpiffeId.FromPath(ca.TrustDomain, "/" + name);
        // Configured in code: appsettings files are not watched for changes (the watcher would follow every directory
        // under the working directory).
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.WebHost.UseKestrel();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft", LogLevel.Error);
        var configuration = new Dictionary<string, string?>(settings) { ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0" };
        if (workloadApi is not null)
        {
            // The production code path: the SVID, its key and the bundles are pushed by the agent; no file, no sidecar.
            configuration["SecureComms:Certificate:Source"] = "WorkloadApi";
            configuration["SecureComms:WorkloadApi:Socket"] = workloadApi.Socket;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        if (settingsFile is not null)
        {
            // A settings file an operator edits while traffic flows (the demo's central policy): reloaded on change.
            builder.Configuration.AddJsonFile(settingsFile, optional: false, reloadOnChange: true);
        }

        // The one line. Without a Workload API, the embedded development CA stands in for certificate and bundle files;
        // the standalone samples read the same things from files named in appsettings.json.
        ISecureCommsBuilder secureComms = builder.Services.AddSecureComms(builder.Configuration);
        InMemoryCertificateSource? certificates = null;
        if (workloadApi is null)
        {
            certificates = new InMemoryCertificateSource(IssueServingSvid(ca, id));
            secureComms.UseCertificateSource(certificates).UseTrustBundleSource(new InMemoryTrustBundleSource(ca.CreateTrustBundle()));
        }

        services?.Invoke(builder.Services);

        WebApplication app = builder.Build();
        map(app);
        await app.StartAsync();
        return new DemoService(name, id, app, certificates);
    }

    /// <summary>
    /// An SVID that also names <c>localhost</c> (X509-SVID allows extra DNS SANs), so that <c>curl</c>, which checks host
    /// names, can talk to the demo in <c>--keep-running</c> mode. SecureComms itself checks only the SPIFFE ID.
    /// </summary>
    public static WorkloadCertificate IssueServingSvid(DevelopmentCertificateAuthority ca, SpiffeId id) =>
        new(ca.IssueCertificate(new SvidSpec { UriSans = [id.ToString()], DnsSans = ["localhost"], CommonName = id.Path.TrimStart('/') }), new X509Certificate2Collection(ca.Chain));

    public HttpClient CreateClient(string name) => App.Services.GetRequiredService<IHttpClientFactory>().CreateClient(name);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
