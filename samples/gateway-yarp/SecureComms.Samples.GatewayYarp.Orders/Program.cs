using SecureComms;

// orders: behind the gateway. Accepts the gateway (bound token, user context) and calls billing on the user's behalf:
// the "billing" client forwards the user context (wrapped, orders named as the next actor) with orders' bound token.
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.Services.AddSecureComms(builder.Configuration);

WebApplication app = builder.Build();
app.MapGet("/orders/{id}", async (string id, HttpContext context, IHttpClientFactory clients, CancellationToken cancellationToken) =>
{
    using HttpResponseMessage answer = await clients.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative), cancellationToken);
    string billing = await answer.Content.ReadAsStringAsync(cancellationToken);

    // billing's refusal is passed on as it is (403 for a user without the buyer role).
    return Results.Json(
        new
        {
            order = id,
            caller = context.GetCallerSpiffeId().ToString(),
            user = context.User.GetEndUser()?.Subject,
            traceparent = context.Request.Headers.TraceParent.ToString(),
            billingStatus = (int)answer.StatusCode,
            billing,
        },
        statusCode: (int)answer.StatusCode);
});
app.MapHealthChecks("/healthz").AllowAnonymous();
app.Run();
