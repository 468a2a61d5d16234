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
#if (Grpc)

// billing's gRPC client (Protos/greet.proto) on the SecureComms client of the same name: the gRPC client factory takes
// the address (SecureComms:Clients:billing:BaseAddress) and the handlers from it, so every call goes over mutual TLS
// with billing's SPIFFE ID checked and carries the certificate-bound token. Without a configured client, the same in
// code: AddGrpcClient<Greeter.GreeterClient>(o => o.Address = new Uri("https://billing:8443"))
//     .AddSecureComms("spiffe://example.org/billing") (plus the SecureComms:Clients:billing:Token settings).
builder.Services.AddGrpcClient<Greeter.GreeterClient>(
        builder.Configuration[$"{ApiCallerOptions.SectionName}:Client"] ?? ApiCallerOptions.DefaultClient)
    .ConfigureChannel(channel => channel.ThrowOperationCanceledOnCancellation = true); // stopping cancels as for HttpClient

builder.Services.AddOptions<ApiCallerOptions>()
    .Bind(builder.Configuration.GetSection(ApiCallerOptions.SectionName))
    .Validate(o => o.Interval > TimeSpan.Zero && o.MaxAttempts > 0 && o.Deadline > TimeSpan.Zero,
        $"{ApiCallerOptions.SectionName}: Interval, MaxAttempts and Deadline must be positive.")
    .ValidateOnStart();
#else

builder.Services.AddOptions<ApiCallerOptions>()
    .Bind(builder.Configuration.GetSection(ApiCallerOptions.SectionName))
    .Validate(o => o.Interval > TimeSpan.Zero && o.MaxAttempts > 0 && o.Path.StartsWith('/'),
        $"{ApiCallerOptions.SectionName}: Interval and MaxAttempts must be positive and Path must start with '/'.")
    .ValidateOnStart();
#endif
builder.Services.AddHostedService<ApiCaller>();

// OpenTelemetry as its documentation wires it: HttpClient instrumentation with SecureComms' activity source and meter
// and this worker's own source, so each call's trace id travels to the service it calls (a gRPC call is an HttpClient
// request too). Spans and metrics go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
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
