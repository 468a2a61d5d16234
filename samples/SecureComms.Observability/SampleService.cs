using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using SecureComms.Testing;

namespace SecureComms.Observability;

/// <summary>One workload: a real Kestrel service on loopback with its own SVID from the development CA.</summary>
internal sealed class SampleService : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SampleService(WebApplication app)
    {
        _app = app;
        Address = new Uri(app.Urls.First(u => u.StartsWith("https://", StringComparison.Ordinal)));
    }

    public Uri Address { get; }

    /// <summary>Starts a service configured the way a real one is: the SecureComms section plus the one-line registration.</summary>
    public static async Task<SampleService> StartAsync(
        string name, DevelopmentCertificateAuthority ca, IDictionary<string, string?> settings, Action<WebApplication>? map = null)
    {
        // Configured in code: appsettings files are not watched for changes (the watcher would follow every directory
        // under the working directory).
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.WebHost.UseKestrel();
        builder.Logging.ClearProviders(); // quiet: this sample shows spans and metrics (the README says how to export logs too)
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings)
        {
            ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0",
        });

        // The development CA stands in for the certificate and bundle files a real workload reads.
        builder.Services.AddSecureComms(builder.Configuration)
            .UseCertificateSource(new InMemoryCertificateSource(ca.IssueSvid(SpiffeId.FromPath(ca.TrustDomain, "/" + name))))
            .UseTrustBundleSource(new InMemoryTrustBundleSource(ca.CreateTrustBundle()));

        WebApplication app = builder.Build();
        map?.Invoke(app);
        await app.StartAsync();
        return new SampleService(app);
    }

    public HttpClient CreateClient(string name) => _app.Services.GetRequiredService<IHttpClientFactory>().CreateClient(name);

    /// <summary>This service's SecureComms health checks (certificate, trust bundles, token endpoints).</summary>
    public Task<HealthReport> CheckHealthAsync() =>
        _app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains(SecureCommsHealthChecks.Tag));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
