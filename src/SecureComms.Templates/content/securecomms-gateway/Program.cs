using Microsoft.AspNetCore.Authentication.JwtBearer;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SecureComms;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);

// The workload's SVID, its mutual-TLS listener (SecureComms:Server:Urls) and one SecureComms client per YARP cluster,
// same name (SecureComms:Clients:orders). The external listener is Kestrel's own (Kestrel:Endpoints:Edge).
builder.Services.AddSecureComms(builder.Configuration);
builder.Services.AddHealthChecks(); // the SecureComms checks are already in; add your own here

// End users: an ordinary OIDC/JWT bearer token from your identity provider (EndUsers:Authority, EndUsers:Audience),
// claims kept as the token names them. The user context minted for each forwarded request carries sub and the claims
// listed in SecureComms:Clients:orders:UserContext:Claims.
builder.Services.AddAuthentication().AddJwtBearer(options =>
{
    builder.Configuration.GetSection("EndUsers").Bind(options);
    options.MapInboundClaims = false;
    options.TokenValidationParameters.NameClaimType = "sub";
    options.TokenValidationParameters.RoleClaimType = "role";
});

// The routes' policy (ReverseProxy:Routes:*:AuthorizationPolicy): a signed-in user, else 401 and nothing forwarded.
builder.Services.AddAuthorizationBuilder()
    .AddPolicy("end-user", policy => policy.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme).RequireAuthenticatedUser());

// YARP: routes and clusters from the ReverseProxy section; every cluster forwards through the SecureComms client of its
// name. A cluster without one, with an http:// destination or with YARP's own TLS settings stops start-up.
builder.Services.AddReverseProxy()
    .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
    .ForwardThroughSecureCommsClients();

// OpenTelemetry as its documentation wires it: one trace from the caller through the gateway to the backend (YARP and
// the SecureComms client propagate traceparent). Spans and metrics go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const string ServiceName = "gateway";
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
app.MapReverseProxy();

// Opened on purpose. On the external listener it tells a load balancer the process is up; on the mutual-TLS listener
// any workload of the trust domain may read it.
app.MapHealthChecks("/healthz").AllowAnonymous();

app.Run();
