using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureComms;
using SecureComms.Observability;
using SecureComms.Testing;

// SecureComms with OpenTelemetry, wired as OpenTelemetry's documentation does: a user's call through gateway → orders →
// billing in one trace, and analytics denied by billing. Each service has its own tracer and meter providers (see
// SampleService.cs and ThisServiceOnly.cs) with the console exporter, and OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
// Real Kestrel services on loopback, real mutual TLS, development CA and token server in-process. Development only.
const string Web = "spiffe://example.org/web";
const string Gateway = "spiffe://example.org/gateway";
const string Orders = "spiffe://example.org/orders";
const string Analytics = "spiffe://example.org/analytics";
const string OrdersResource = "https://orders.example.org";
const string BillingResource = "https://billing.example.org";

using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
await using DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
{
    ServerCertificate = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/token-server")),
    ClientTrust = ca.CreateTrustBundle(),
    Clients =
    [
        new DevelopmentClient { ClientId = "gateway", TlsClientAuthSanUri = SpiffeId.Parse(Gateway), AllowedScopes = ["orders.read"], AllowedResources = [OrdersResource] },
        new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = SpiffeId.Parse(Orders), AllowedScopes = ["invoices.read"], AllowedResources = [BillingResource] },
        new DevelopmentClient { ClientId = "analytics", TlsClientAuthSanUri = SpiffeId.Parse(Analytics), AllowedScopes = ["invoices.read"], AllowedResources = [BillingResource] },
    ],
});
string authority = tokenServer.Issuer.GetLeftPart(UriPartial.Authority);

Dictionary<string, string?> AcceptsTokensFor(string resource) => new()
{
    ["SecureComms:TokenValidation:Authority"] = authority,
    ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
    ["SecureComms:TokenValidation:Audience"] = resource,
};

Dictionary<string, string?> Calls(string client, Uri address, string clientId, string scope, string resource, Dictionary<string, string?>? settings = null)
{
    settings ??= [];
    settings[$"SecureComms:Clients:{client}:BaseAddress"] = address.ToString();
    settings[$"SecureComms:Clients:{client}:ExpectedServer"] = $"spiffe://example.org/{client}";
    settings[$"SecureComms:Clients:{client}:Token:Authority"] = authority;
    settings[$"SecureComms:Clients:{client}:Token:ExpectedServer"] = "spiffe://example.org/token-server";
    settings[$"SecureComms:Clients:{client}:Token:ClientId"] = clientId;
    settings[$"SecureComms:Clients:{client}:Token:Scope"] = scope;
    settings[$"SecureComms:Clients:{client}:Token:Resource"] = resource;
    return settings;
}

// billing: GET /invoices for orders only, with a certificate-bound token granting invoices.read.
SampleService billing = await SampleService.StartAsync("billing", ca, AcceptsTokensFor(BillingResource), app =>
    app.MapGet("/invoices", (HttpContext context) => $"invoices for {context.GetCallerSpiffeId()}")
        .RequireCaller(Orders)
        .RequireScope("invoices.read"));

// orders: GET /orders/{id} for the gateway only (orders.read); it asks billing for the order's invoices.
SampleService orders = await SampleService.StartAsync(
    "orders", ca, Calls("billing", billing.Address, "orders", "invoices.read", BillingResource, AcceptsTokensFor(OrdersResource)), app =>
    app.MapGet("/orders/{id}", async (string id, IHttpClientFactory clients, CancellationToken cancel) =>
        $"order {id}, {await clients.CreateClient("billing").GetStringAsync(new Uri("/invoices", UriKind.Relative), cancel)}")
        .RequireCaller(Gateway)
        .RequireScope("orders.read"));

// gateway: the edge the web front end calls (mutual TLS only, no token); it asks orders.
SampleService gateway = await SampleService.StartAsync(
    "gateway", ca, Calls("orders", orders.Address, "gateway", "orders.read", OrdersResource), app =>
    app.MapGet("/orders/{id}", async (string id, IHttpClientFactory clients, CancellationToken cancel) =>
        await clients.CreateClient("orders").GetStringAsync(new Uri($"/orders/{Uri.EscapeDataString(id)}", UriKind.Relative), cancel))
        .RequireCaller(Web));

// web stands in for the user's browser session; analytics runs a nightly job that billing does not let in.
SampleService web = await SampleService.StartAsync("web", ca, new Dictionary<string, string?>
{
    ["SecureComms:Clients:gateway:BaseAddress"] = gateway.Address.ToString(),
    ["SecureComms:Clients:gateway:ExpectedServer"] = Gateway,
});
SampleService analytics = await SampleService.StartAsync("analytics", ca, Calls("billing", billing.Address, "analytics", "invoices.read", BillingResource));
SampleService[] services = [web, gateway, orders, billing, analytics];

Console.WriteLine("SecureComms observability sample: each service's spans from its console exporter as they end; its metrics when it stops.");
(int allowed, ActivityTraceId userTrace) = await CallAsync(web, "gateway", "/orders/42", "a user opens order 42: web → gateway → orders → billing");
(int denied, ActivityTraceId jobTrace) = await CallAsync(analytics, "billing", "/invoices", "the nightly export: analytics → billing");
HealthReport health = await orders.CheckHealthAsync();

// Stopping a service ends its requests' spans and flushes its providers: its metrics are printed now.
foreach (SampleService service in services)
{
    await service.DisposeAsync();
}

// What a dashboard or an alert relies on, checked on what the in-memory exporters received (not on the console text).
var problems = new List<string>();
if (health.Status != HealthStatus.Healthy)
{
    problems.Add($"expected orders to be Healthy, it is {health.Status}");
}

if (allowed != StatusCodes.Status200OK || denied != StatusCodes.Status403Forbidden)
{
    problems.Add($"expected 200 for the user's call and 403 for analytics, got {allowed} and {denied}");
}

if (!Observed(billing, SecureCommsTelemetry.Results.Allow, Orders, reason: null))
{
    problems.Add($"billing exported no {SecureCommsTelemetry.Spans.InboundDecision} span with {SecureCommsTelemetry.Tags.Decision}=allow and {SecureCommsTelemetry.Tags.PeerSpiffeId}={Orders}");
}

if (!Observed(billing, SecureCommsTelemetry.Results.Deny, Analytics, reason: SecureCommsTelemetry.Reasons.NoMatchingRule))
{
    problems.Add($"billing exported no {SecureCommsTelemetry.Spans.InboundDecision} span with {SecureCommsTelemetry.Tags.Decision}=deny, {SecureCommsTelemetry.Tags.Reason}={SecureCommsTelemetry.Reasons.NoMatchingRule} and {SecureCommsTelemetry.Tags.PeerSpiffeId}={Analytics}");
}

// One trace: gateway's, orders' and billing's request spans all carry the trace of the user's call, each with the
// decision span of the service that decided inside it.
Console.WriteLine();
Console.WriteLine($"The user's call, trace {userTrace}:");
foreach (SampleService hop in new[] { gateway, orders, billing })
{
    CheckHop(hop, userTrace);
}

Console.WriteLine($"The nightly export, trace {jobTrace}:");
CheckHop(billing, jobTrace);

// Each span exported once, by the provider of the service it belongs to.
int exported = services.Sum(s => s.ExportedSpans.Count);
int distinct = services.SelectMany(s => s.ExportedSpans).Select(s => s.SpanId).Distinct().Count();
if (exported != distinct)
{
    problems.Add($"{exported - distinct} span(s) exported by more than one service's provider");
}

Console.WriteLine();
if (problems.Count == 0)
{
    Console.WriteLine("OK: one trace id across gateway → orders → billing; each decision span sits inside its request's server span.");
    Console.WriteLine("OK: observed the allowed and the denied decision spans.");
    return 0;
}

Console.WriteLine($"FAILED: {string.Join("; ", problems)}.");
Console.WriteLine(services.Any(s => s.ExportedSpans.Any(IsDecision))
    ? "Saw decision spans, but not the ones above: the decision span's tags or parents differ from what this sample expects."
    : $"Saw no decision span at all: this build of SecureComms emits none on its '{SecureCommsTelemetry.ActivitySourceName}' ActivitySource yet, or OTEL_TRACES_SAMPLER drops them.");
return 1;

async Task<(int Status, ActivityTraceId Trace)> CallAsync(SampleService caller, string client, string path, string scenario)
{
    using Activity? work = caller.StartWork(scenario);
    using HttpResponseMessage response = await caller.CreateClient(client).GetAsync(new Uri(path, UriKind.Relative));
    Console.WriteLine($"{scenario}: {(int)response.StatusCode} {response.StatusCode} (trace {work?.TraceId.ToHexString() ?? "not sampled"})");
    return ((int)response.StatusCode, work?.TraceId ?? default);
}

void CheckHop(SampleService service, ActivityTraceId trace)
{
    List<Activity> requests = [.. service.ExportedSpans.Where(s => s.TraceId == trace && s.Kind == ActivityKind.Server && s.Source.Name == "Microsoft.AspNetCore")];
    if (requests.Count != 1)
    {
        problems.Add($"{service.Name} exported {requests.Count} request spans in trace {trace}, not one");
        return;
    }

    Activity request = requests[0];
    List<Activity> decisions = [.. service.ExportedSpans.Where(s => s.TraceId == trace && IsDecision(s))];
    if (decisions.Count != 1 || decisions[0].ParentSpanId != request.SpanId)
    {
        problems.Add($"{service.Name} exported {decisions.Count} {SecureCommsTelemetry.Spans.InboundDecision} span(s) in trace {trace}, not one whose parent is its request span {request.SpanId}");
        return;
    }

    Activity decision = decisions[0];
    Console.WriteLine($"  {service.Name,-8} {request.DisplayName,-22} span {request.SpanId} (parent {request.ParentSpanId})"
        + $" ⊃ {decision.DisplayName} {decision.GetTagItem(SecureCommsTelemetry.Tags.Decision)} {decision.GetTagItem(SecureCommsTelemetry.Tags.PeerSpiffeId)}");
}

static bool IsDecision(Activity span) => span.OperationName == SecureCommsTelemetry.Spans.InboundDecision;

static bool Observed(SampleService service, string decision, string caller, string? reason) => service.ExportedSpans.Any(span =>
    IsDecision(span)
    && span.GetTagItem(SecureCommsTelemetry.Tags.Decision) as string == decision
    && span.GetTagItem(SecureCommsTelemetry.Tags.PeerSpiffeId) as string == caller
    && (reason is null || span.GetTagItem(SecureCommsTelemetry.Tags.Reason) as string == reason));
