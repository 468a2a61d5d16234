using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SecureComms;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);

// The central authorization policy (SecureComms:Authorization:Rules) lives in its own file so that it can be reviewed,
// and in Kubernetes mounted from a ConfigMap, on its own. It reloads on change; an invalid new policy is refused and
// the last good one stays in force.
builder.Configuration.AddJsonFile(
    builder.Configuration["PolicyFile"] ?? "securecomms.policy.json", optional: false, reloadOnChange: true);

// The one line: HTTPS listeners that require a client SVID, the caller's SPIFFE ID as HttpContext.User, bound access
// tokens (SecureComms:TokenValidation), default-deny authorization and the SecureComms health checks.
builder.Services.AddSecureComms(builder.Configuration);
builder.Services.AddHealthChecks(); // the SecureComms checks are already in; add your own here

// OpenTelemetry as its documentation wires it: ASP.NET Core and HttpClient instrumentation with SecureComms' activity
// source and meter beside them, so a SecureComms span sits inside the request span and one trace id follows a call
// from service to service. Spans and metrics go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const string ServiceName = "billing";
OpenTelemetryBuilder telemetry = builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService(ServiceName))
    .WithTracing(tracing => tracing
        .AddAspNetCoreInstrumentation()
        .AddHttpClientInstrumentation()
        .AddSource(SecureCommsTelemetry.ActivitySourceName))
    .WithMetrics(metrics => metrics
        .AddAspNetCoreInstrumentation()
        .AddHttpClientInstrumentation()
        .AddMeter(SecureCommsTelemetry.MeterName));
if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
{
    telemetry.UseOtlpExporter();
}

WebApplication app = builder.Build();

// Opened to exactly one caller; every other workload gets 403, a caller without a valid SVID gets no TLS handshake,
// and a request without an access token bound to the caller's certificate gets 401.
app.MapGet("/hello", (HttpContext context) => $"hello {context.GetCallerSpiffeId()}, this is billing")
    .RequireCaller("spiffe://example.org/orders");

// Opened by a rule in securecomms.policy.json instead of in code.
app.MapGet("/info", () => new { service = ServiceName, time = TimeProvider.System.GetUtcNow() });

// Opened on purpose, on the mutual-TLS listener: a caller still needs a valid SVID, but no token and no rule.
app.MapHealthChecks("/healthz").AllowAnonymous();

app.Run();
