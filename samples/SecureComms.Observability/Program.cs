using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SecureComms;
using SecureComms.Observability;
using SecureComms.Testing;

// SecureComms with the OpenTelemetry SDK: one allowed and one denied call to billing, exported over OTLP and printed.
// Real Kestrel services on loopback, real mutual TLS, development CA and token server in-process. Development only.

// OTEL_EXPORTER_OTLP_ENDPOINT (and every other OTEL_* setting) from the environment or the command line.
IConfiguration configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build();
const string ServiceName = "securecomms-observability-sample";
using var scenarios = new ActivitySource("SecureComms.Observability.Sample");

// No host here, so the providers are built with the SDK and disposed (flushing OTLP) by these using declarations.
var spans = new SpanLinePrinter();
using TracerProvider tracing = Sdk.CreateTracerProviderBuilder()
    .ConfigureServices(services => services.AddSingleton(configuration))
    .ConfigureResource(resource => resource.AddService(ServiceName))
    .AddSource(SecureCommsTelemetry.ActivitySourceName)
    .AddSource(scenarios.Name, "Microsoft.AspNetCore", "System.Net.Http") // the HTTP spans around them: one trace per call
    .AddProcessor(spans)
    .AddOtlpExporter()
    .Build();

var metricPoints = new MetricPointPrinter();
using MeterProvider metrics = Sdk.CreateMeterProviderBuilder()
    .ConfigureServices(services => services.AddSingleton(configuration))
    .ConfigureResource(resource => resource.AddService(ServiceName))
    .AddMeter(SecureCommsTelemetry.MeterName)
    .AddReader(new BaseExportingMetricReader(metricPoints))
    .AddOtlpExporter()
    .Build();

using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
const string BillingResource = "https://billing.example.org";
const string Orders = "spiffe://example.org/orders";
const string Analytics = "spiffe://example.org/analytics";
await using DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
{
    ServerCertificate = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/token-server")),
    ClientTrust = ca.CreateTrustBundle(),
    Clients =
    [
        new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = SpiffeId.Parse(Orders), AllowedScopes = ["invoices.read"], AllowedResources = [BillingResource] },
        new DevelopmentClient { ClientId = "analytics", TlsClientAuthSanUri = SpiffeId.Parse(Analytics), AllowedScopes = ["invoices.read"], AllowedResources = [BillingResource] },
    ],
});
string authority = tokenServer.Issuer.GetLeftPart(UriPartial.Authority);

// billing: GET /invoices for orders only, with a certificate-bound token granting invoices.read.
await using SampleService billing = await SampleService.StartAsync("billing", ca, new Dictionary<string, string?>
{
    ["SecureComms:TokenValidation:Authority"] = authority,
    ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
    ["SecureComms:TokenValidation:Audience"] = BillingResource,
}, app => app.MapGet("/invoices", (HttpContext context) => $"invoices for {context.GetCallerSpiffeId()}")
    .RequireCaller(Orders)
    .RequireScope("invoices.read"));

// orders and analytics: the same "billing" client, each with its own certificate-bound token.
Dictionary<string, string?> CallsBilling(string clientId) => new()
{
    ["SecureComms:Clients:billing:BaseAddress"] = billing.Address.ToString(),
    ["SecureComms:Clients:billing:ExpectedServer"] = "spiffe://example.org/billing",
    ["SecureComms:Clients:billing:Token:Authority"] = authority,
    ["SecureComms:Clients:billing:Token:ExpectedServer"] = "spiffe://example.org/token-server",
    ["SecureComms:Clients:billing:Token:ClientId"] = clientId,
    ["SecureComms:Clients:billing:Token:Scope"] = "invoices.read",
    ["SecureComms:Clients:billing:Token:Resource"] = BillingResource,
};
await using SampleService orders = await SampleService.StartAsync("orders", ca, CallsBilling("orders"));
await using SampleService analytics = await SampleService.StartAsync("analytics", ca, CallsBilling("analytics"));

Console.WriteLine($"SecureComms observability sample: OTLP to {configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? "http://localhost:4317"} (nothing listening is harmless)");
Console.WriteLine("SecureComms spans as they finish (trace, name, duration, tags):");
int allowed = await CallAsync("orders → billing GET /invoices", orders);
int denied = await CallAsync("analytics → billing GET /invoices", analytics);

metrics.ForceFlush(); // one collection: the OTLP exporter sends it, the printer keeps it
Console.WriteLine();
Console.WriteLine("SecureComms metric points (cumulative; the three services share this process's meter provider):");
foreach (string line in metricPoints.Lines)
{
    Console.WriteLine(line);
}

Console.WriteLine();
Console.WriteLine("SecureComms health checks of orders (what MapHealthChecks would serve):");
HealthReport health = await orders.CheckHealthAsync();
foreach ((string name, HealthReportEntry entry) in health.Entries)
{
    Console.WriteLine($"  {name}: {entry.Status} — {entry.Description}");
}

// What a dashboard or an alert relies on: the decision spans, with caller, decision and reason.
var problems = new List<string>();
if (health.Status != HealthStatus.Healthy)
{
    problems.Add($"expected orders to be Healthy, it is {health.Status}");
}

if (allowed != StatusCodes.Status200OK || denied != StatusCodes.Status403Forbidden)
{
    problems.Add($"expected 200 for orders and 403 for analytics, got {allowed} and {denied}");
}

if (!Observed(SecureCommsTelemetry.Results.Allow, Orders, reason: null))
{
    problems.Add($"no {SecureCommsTelemetry.Spans.InboundDecision} span with {SecureCommsTelemetry.Tags.Decision}=allow and {SecureCommsTelemetry.Tags.PeerSpiffeId}={Orders}");
}

if (!Observed(SecureCommsTelemetry.Results.Deny, Analytics, reason: "CallerNotAllowed"))
{
    problems.Add($"no {SecureCommsTelemetry.Spans.InboundDecision} span with {SecureCommsTelemetry.Tags.Decision}=deny, {SecureCommsTelemetry.Tags.Reason}=CallerNotAllowed and {SecureCommsTelemetry.Tags.PeerSpiffeId}={Analytics}");
}

Console.WriteLine();
if (problems.Count == 0)
{
    Console.WriteLine("OK: observed the allowed and the denied decision spans.");
    return 0;
}

Console.WriteLine($"FAILED: {string.Join("; ", problems)}.");
Console.WriteLine(spans.Finished.Count == 0
    ? $"Saw no SecureComms span at all: this build of SecureComms emits none on its '{SecureCommsTelemetry.ActivitySourceName}' ActivitySource yet, or OTEL_TRACES_SAMPLER drops them."
    : $"Saw {spans.Finished.Count} SecureComms span(s), none of them the decision above: the decision span's tags differ from what this sample expects.");
return 1;

async Task<int> CallAsync(string scenario, SampleService caller)
{
    using Activity? root = scenarios.StartActivity(scenario);
    Console.WriteLine($"{scenario} (trace {root?.TraceId.ToHexString() ?? "not sampled"})");
    using HttpResponseMessage response = await caller.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative));
    Console.WriteLine($"  → {(int)response.StatusCode} {response.StatusCode}");
    return (int)response.StatusCode;
}

bool Observed(string decision, string caller, string? reason) => spans.Finished.Any(span =>
    span.DisplayName == SecureCommsTelemetry.Spans.InboundDecision
    && span.GetTagItem(SecureCommsTelemetry.Tags.Decision) as string == decision
    && span.GetTagItem(SecureCommsTelemetry.Tags.PeerSpiffeId) as string == caller
    && (reason is null || span.GetTagItem(SecureCommsTelemetry.Tags.Reason) as string == reason));
