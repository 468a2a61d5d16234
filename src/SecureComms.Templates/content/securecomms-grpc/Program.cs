using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SecureComms;
using SecureComms.Grpc1.Services;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);

// The central authorization policy (SecureComms:Authorization:Rules) lives in its own file so that it can be reviewed,
// and in Kubernetes mounted from a ConfigMap, on its own. It reloads on change; an invalid new policy is refused and
// the last good one stays in force.
builder.Configuration.AddJsonFile(
    builder.Configuration["PolicyFile"] ?? "securecomms.policy.json", optional: false, reloadOnChange: true);

// The one line: HTTPS listeners (HTTP/2 and HTTP/1.1, chosen by ALPN) that require a client SVID, the caller's SPIFFE
// ID as HttpContext.User, bound access tokens (SecureComms:TokenValidation), default-deny authorization and the
// SecureComms health checks. A gRPC method is an endpoint like any other: it gets all of that.
builder.Services.AddSecureComms(builder.Configuration);
builder.Services.AddGrpc();
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

// Default deny: mapped like this, no method of Greeter answers anyone until a rule opens it. securecomms.policy.json
// opens /greet.v1.Greeter/SayHello (the gRPC path /package.Service/Method) to exactly one caller, method by method.
// Every other workload gets PermissionDenied, a call without an access token bound to the caller's certificate gets
// Unauthenticated, and a caller without a valid SVID gets no TLS handshake.
app.MapGrpcService<GreeterService>();

// Or open the whole service in code instead of in the policy file (the file's rules then no longer apply to it). A
// caller pattern is an exact ID, a prefix ("spiffe://example.org/team/*") or a trust domain ("spiffe://example.org/*");
// a token without the scope gets PermissionDenied (insufficient_scope):
// app.MapGrpcService<GreeterService>()
//     .RequireCaller("spiffe://example.org/orders")
//     .RequireScope("billing.greet");

// Opened on purpose, on the mutual-TLS listener: a caller still needs a valid SVID, but no token and no rule.
app.MapHealthChecks("/healthz").AllowAnonymous();

app.Run();
