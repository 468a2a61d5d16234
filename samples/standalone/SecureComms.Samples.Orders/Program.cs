using SecureComms;

// orders: everything about security is in appsettings.json (SecureComms section). This file only maps endpoints.
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.Services.AddSecureComms(builder.Configuration); // mTLS listener, caller identity, default deny, the "billing" client

WebApplication app = builder.Build();

// Opened by the rule "frontend-reads-orders" in appsettings.json. The "billing" client presents orders' SVID, accepts
// only spiffe://example.org/billing, and sends an access token bound to orders' SVID; without a token the request is
// never sent (TokenAcquisitionException).
app.MapGet("/orders/{id}", async (string id, IHttpClientFactory clients, CancellationToken cancellationToken) =>
{
    try
    {
        using HttpResponseMessage answer = await clients.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative), cancellationToken);
        string body = await answer.Content.ReadAsStringAsync(cancellationToken);
        return Results.Json(new { order = id, billingStatus = (int)answer.StatusCode, billing = body }, statusCode: answer.IsSuccessStatusCode ? 200 : 502);
    }
    catch (TokenAcquisitionException ex)
    {
        return Results.Json(new { order = id, error = $"no token for billing: {ex.Error}" }, statusCode: 502);
    }
});

// Opened on purpose: any caller with a valid SVID, no rule (readiness probe of run.sh).
app.MapHealthChecks("/healthz").AllowAnonymous();

app.Run();
