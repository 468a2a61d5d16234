using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SecureComms;
using SecureComms.Worker1;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);

// The one line: this workload's SVID and trust bundles, and every SecureComms:Clients entry as a named HttpClient that
// presents the SVID, accepts only the expected server, and sends an access token bound to the SVID (RFC 8705).
builder.Services.AddSecureCommsCore(builder.Configuration);

builder.Services.AddOptions<ApiCallerOptions>()
    .Bind(builder.Configuration.GetSection(ApiCallerOptions.SectionName))
    .Validate(o => o.Interval > TimeSpan.Zero && o.MaxAttempts > 0 && o.Path.StartsWith('/'),
        $"{ApiCallerOptions.SectionName}: Interval and MaxAttempts must be positive and Path must start with '/'.")
    .ValidateOnStart();
builder.Services.AddHostedService<ApiCaller>();

// OpenTelemetry without a hosting package: the providers are built with the SDK and disposed, which flushes them, when
// the worker stops. Spans and metrics go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const string ServiceName = "orders";
bool exportOtlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
TracerProviderBuilder tracing = Sdk.CreateTracerProviderBuilder()
    .ConfigureServices(services => services.AddSingleton<IConfiguration>(builder.Configuration))
    .ConfigureResource(resource => resource.AddService(ServiceName))
    .AddSource(SecureCommsTelemetry.ActivitySourceName, ApiCaller.ActivitySourceName, "System.Net.Http");
MeterProviderBuilder metrics = Sdk.CreateMeterProviderBuilder()
    .ConfigureServices(services => services.AddSingleton<IConfiguration>(builder.Configuration))
    .ConfigureResource(resource => resource.AddService(ServiceName))
    .AddMeter(SecureCommsTelemetry.MeterName, "System.Net.Http");
if (exportOtlp)
{
    tracing.AddOtlpExporter();
    metrics.AddOtlpExporter();
}

using TracerProvider tracerProvider = tracing.Build();
using MeterProvider meterProvider = metrics.Build();

using IHost host = builder.Build();
host.Run();

// With Worker:RunOnce the exit code says whether billing answered (ApiCaller sets it).
return Environment.ExitCode;
