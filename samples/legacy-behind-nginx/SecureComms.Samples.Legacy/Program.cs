using SecureComms;

// legacy: a service that cannot terminate mutual TLS where it runs, so nginx does it and forwards the client
// certificate. Everything about security is in appsettings.json (SecureComms section); this file only maps endpoints.
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.Services.AddSecureComms(builder.Configuration); // listeners, caller identity (also from nginx's header), default deny

WebApplication app = builder.Build();

// Opened by the rule "orders-reads-records" in appsettings.json. Behind nginx the caller is the SPIFFE ID of the
// certificate nginx forwarded, validated here as an X.509-SVID exactly like a direct one.
app.MapGet("/records", (HttpContext context) => $"records for {context.GetCallerSpiffeId()}");

// Opened on purpose: the only kind of endpoint that answers a plaintext request without a forwarded certificate
// (readiness probe of run.sh).
app.MapHealthChecks("/healthz").AllowAnonymous();

app.Run();
