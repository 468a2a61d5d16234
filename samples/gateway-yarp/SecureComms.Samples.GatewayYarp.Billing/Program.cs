using SecureComms;

// billing: the end of the chain. Its rule (appsettings.json) needs the caller orders, a token bound to orders' SVID,
// and an end user with role buyer, minted by the gateway and forwarded by orders.
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.Services.AddSecureComms(builder.Configuration);

WebApplication app = builder.Build();
app.MapGet("/invoices", (HttpContext context) => Results.Json(new
{
    caller = context.GetCallerSpiffeId().ToString(),
    user = context.User.GetEndUser()?.Subject,
    actors = context.User.GetEndUser()?.Actors.Select(a => a.ToString()),
    traceparent = context.Request.Headers.TraceParent.ToString(),
}));
app.MapHealthChecks("/healthz").AllowAnonymous();
app.Run();
