using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SecureComms.Testing;

namespace SecureComms.Observability;

/// <summary>
/// One workload: a real Kestrel service on loopback with its own SVID from the development CA and its own
/// OpenTelemetry tracer and meter providers, registered as OpenTelemetry's documentation does.
/// </summary>
internal sealed class SampleService : IAsyncDisposable
{
    /// <summary>The name of the source of each service's own work outside a request (a scheduled job, a user's click).</summary>
    public const string WorkSourceName = "SecureComms.Observability.Sample";

    private readonly WebApplication _app;
    private readonly ActivitySource _work;
    private readonly List<Activity> _exported;

    private SampleService(string name, WebApplication app, ActivitySource work, List<Activity> exported)
    {
        Name = name;
        _app = app;
        _work = work;
        _exported = exported;
        Address = new Uri(app.Urls.First(u => u.StartsWith("https://", StringComparison.Ordinal)));
    }

    public string Name { get; }

    public Uri Address { get; }

    /// <summary>The spans this service's tracer provider exported (its in-memory exporter): complete once the service is stopped.</summary>
    public IReadOnlyList<Activity> ExportedSpans => _exported;

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

        // OpenTelemetry as its documentation wires it, once per service: ASP.NET Core and HttpClient instrumentation
        // with SecureComms' activity source and meter beside them. In a service of your own, the exporters are simply
        // .AddConsoleExporter() or UseOtlpExporter(); here they sit behind ThisServiceOnly (see ThisServiceOnly.cs)
        // because five services share this process.
        var work = new ActivitySource(WorkSourceName);
        var exported = new List<Activity>();
        bool otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(name))
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddSource(SecureCommsTelemetry.ActivitySourceName)
                .AddSource(WorkSourceName)
                .AddProcessor(services => ThisServiceOnly.Spans(
                    services.GetRequiredService<ActivitySource>(), // the host's own "Microsoft.AspNetCore" source: its request spans
                    work,
                    new SimpleActivityExportProcessor(new ConsoleActivityExporter(new ConsoleExporterOptions())),
                    new SimpleActivityExportProcessor(new InMemoryExporter<Activity>(exported)), // for the sample's own check
                    otlp ? new BatchActivityExportProcessor(new OtlpTraceExporter(new OtlpExporterOptions())) : null)))
            .WithMetrics(metrics =>
            {
                metrics
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddMeter(SecureCommsTelemetry.MeterName)
                    .AddConsoleExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });

        builder.Services.ConfigureOpenTelemetryMeterProvider((services, metrics) =>
            metrics.AddView(ThisServiceOnly.Instruments(services.GetRequiredService<IMeterFactory>())));

        WebApplication app = builder.Build();
        map?.Invoke(app);
        await app.StartAsync();
        return new SampleService(name, app, work, exported);
    }

    /// <summary>Starts a span for this service's own work outside a request: the outermost span of the calls it makes.</summary>
    public Activity? StartWork(string name) => _work.StartActivity(name, ActivityKind.Internal);

    public HttpClient CreateClient(string name) => _app.Services.GetRequiredService<IHttpClientFactory>().CreateClient(name);

    /// <summary>This service's SecureComms health checks (certificate, trust bundles, token endpoints).</summary>
    public Task<HealthReport> CheckHealthAsync() =>
        _app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains(SecureCommsHealthChecks.Tag));

    /// <summary>Stops the service: its requests finish, its spans end, and its providers flush (the console exporter prints the metrics).</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _work.Dispose();
    }
}
