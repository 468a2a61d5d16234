using SecureComms;

// billing: everything about security is in appsettings.json (SecureComms section). This file only maps endpoints.
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.Services.AddSecureComms(builder.Configuration); // mTLS listener, caller identity, bound tokens, default deny

WebApplication app = builder.Build();

// Opened by the rule "orders-reads-invoices" in appsettings.json (SecureComms:Authorization:Rules): only
// spiffe://example.org/orders, only GET, only with a token bound to its certificate that grants invoices.read.
app.MapGet("/invoices", (HttpContext context) =>
    $"invoices for {context.GetCallerSpiffeId()} (token of {context.User.FindFirst("client_id")?.Value})");

// Opened on purpose: any caller with a valid SVID, no token, no rule (readiness probe of run.sh).
app.MapHealthChecks("/healthz").AllowAnonymous();

app.Run();
