using SecureComms;

// analytics: everything about security is in appsettings.json (SecureComms section). This file only maps endpoints.
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.Services.AddSecureComms(builder.Configuration); // mTLS listener, caller identity, default deny, the "billing" client

WebApplication app = builder.Build();

// Opened by the rule "frontend-reads-report" in appsettings.json. analytics gets a valid token bound to its own SVID,
// but billing's policy does not name analytics: billing answers 403, and the report says so.
app.MapGet("/report", async (IHttpClientFactory clients, CancellationToken cancellationToken) =>
{
    try
    {
        using HttpResponseMessage answer = await clients.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative), cancellationToken);
        return Results.Json(new { report = "invoices", billingStatus = (int)answer.StatusCode, billingReason = answer.ReasonPhrase });
    }
    catch (TokenAcquisitionException ex)
    {
        return Results.Json(new { report = "invoices", error = $"no token for billing: {ex.Error}" }, statusCode: 502);
    }
});

// Opened on purpose: any caller with a valid SVID, no rule (readiness probe of run.sh).
app.MapHealthChecks("/healthz").AllowAnonymous();

app.Run();
