using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>A real Kestrel service with SecureComms on 127.0.0.1 and a free port.</summary>
internal sealed class SecureServiceHost : IAsyncDisposable
{
    private SecureServiceHost(WebApplication app, FakeLogCollector logs)
    {
        App = app;
        Logs = logs;
        BaseAddress = new Uri(app.Urls.First(u => u.StartsWith("https://", StringComparison.Ordinal)));
    }

    public WebApplication App { get; }

    public FakeLogCollector Logs { get; }

    public Uri BaseAddress { get; }

    /// <summary>
    /// Starts a service. <paramref name="certificate"/> and <paramref name="bundles"/> supply identity and trust in
    /// code; pass null for either to use what <paramref name="settings"/> configures (files). <paramref name="configuration"/>
    /// adds further sources after the settings (say, a real JSON file that reloads on change).
    /// </summary>
    public static async Task<SecureServiceHost> StartAsync(
        Action<WebApplication> map,
        ICertificateSource? certificate,
        ITrustBundleSource? bundles,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null,
        Action<IConfigurationBuilder>? configuration = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel();
        var config = new Dictionary<string, string?>
        {
            ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0",
        };
        foreach (KeyValuePair<string, string?> setting in settings ?? new Dictionary<string, string?>())
        {
            config[setting.Key] = setting.Value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        configuration?.Invoke(builder.Configuration);
        var logs = new FakeLogCollector();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new FakeLoggerProvider(logs));
        builder.Logging.SetMinimumLevel(LogLevel.Debug);

        // As in the templates and samples ("Microsoft.AspNetCore": "Warning"): SecureComms then decides its own policies
        // without ASP.NET Core's per-request authorization service (PolicyEvaluatorShortcutTests compares both paths).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Authorization", LogLevel.Warning);

        ISecureCommsBuilder secureComms = builder.Services.AddSecureComms(builder.Configuration);
        if (certificate is not null)
        {
            secureComms.UseCertificateSource(certificate);
        }

        if (bundles is not null)
        {
            secureComms.UseTrustBundleSource(bundles);
        }

        services?.Invoke(builder.Services);
        WebApplication app = builder.Build();
        map(app);
        await app.StartAsync();
        return new SecureServiceHost(app, logs);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
