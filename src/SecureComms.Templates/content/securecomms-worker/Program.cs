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

// OpenTelemetry as its documentation wires it: HttpClient instrumentation with SecureComms' activity source and meter
// and this worker's own source, so each call's trace id travels to the service it calls. Spans and metrics go over OTLP
// when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const string ServiceName = "orders";
OpenTelemetryBuilder telemetry = builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService(ServiceName))
    .WithTracing(tracing => tracing
        .AddHttpClientInstrumentation()
        .AddSource(SecureCommsTelemetry.ActivitySourceName, ApiCaller.ActivitySourceName))
    .WithMetrics(metrics => metrics
        .AddHttpClientInstrumentation()
        .AddMeter(SecureCommsTelemetry.MeterName));
if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
{
    telemetry.UseOtlpExporter();
}

using IHost host = builder.Build();
host.Run();

// With Worker:RunOnce the exit code says whether billing answered (ApiCaller sets it).
return Environment.ExitCode;
