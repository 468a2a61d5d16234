using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using OpenTelemetry.Trace;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;
using Spans = SecureComms.SecureCommsTelemetry.Spans;
using Tags = SecureComms.SecureCommsTelemetry.Tags;

namespace SecureComms.AspNetCore.Tests.Telemetry;

/// <summary>
/// One call through gateway → orders → billing, three real SecureComms services on loopback with mutual TLS and
/// certificate-bound tokens, traced by the real OpenTelemetry SDK wired as its documentation does (ASP.NET Core and
/// HttpClient instrumentation beside SecureComms' source) into its in-memory exporter: what a collector would receive.
/// </summary>
/// <remarks>
/// The SDK rather than a bare <see cref="ActivityListener"/>: the instrumentation packages take part in propagation
/// (the HttpClient one injects <c>traceparent</c> with OpenTelemetry's own propagator, beside the runtime), so the SDK
/// is what has to work.
/// Its tracer provider listens process-wide, so the class does not run beside other tests: their spans would be
/// sampled, and their requests would carry <c>traceparent</c> headers they otherwise do not.
/// That also lets the test that breaks propagation switch the process-wide propagators for its duration.
/// </remarks>
[TestClass]
[DoNotParallelize]
public sealed class TraceAcrossHopsTests
{
    private const string OrdersResource = "https://orders.example.org";
    private const string BillingResource = "https://billing.example.org";
    private static readonly SpiffeId WebId = SpiffeId.Parse("spiffe://example.org/web");
    private static readonly SpiffeId GatewayId = SpiffeId.Parse("spiffe://example.org/gateway");
    private static readonly ActivitySource User = new("SecureComms.AspNetCore.Tests.TraceAcrossHops");

    [TestMethod]
    public async Task OneCall_KeepsOneTraceId_FromGatewayThroughOrdersToBilling_WithEachDecisionInsideItsRequestSpan()
    {
        (Chain chain, IReadOnlyList<Activity> exported, ActivityTraceId trace) = await CallThroughTheChainAsync();

        AssertOneTraceAcrossTheHops(chain, exported, trace);
    }

    [TestMethod]
    public async Task WhenNoClientPropagates_EachHopStartsATraceOfItsOwn_AndTheCheckFails()
    {
        // Process-wide, so only while this test runs (the class runs beside no other test) and restored after it. With
        // the SDK both switches are needed: its HttpClient instrumentation injects with OpenTelemetry's own propagator
        // whenever that is not the plain W3C one, whatever DistributedContextPropagator.Current says.
        DistributedContextPropagator runtime = DistributedContextPropagator.Current;
        TextMapPropagator sdk = Propagators.DefaultTextMapPropagator;
        DistributedContextPropagator.Current = DistributedContextPropagator.CreateNoOutputPropagator();
        Sdk.SetDefaultTextMapPropagator(new TraceContextPropagator());
        (Chain Chain, IReadOnlyList<Activity> Exported, ActivityTraceId Trace) call;
        try
        {
            call = await CallThroughTheChainAsync();
        }
        finally
        {
            DistributedContextPropagator.Current = runtime;
            Sdk.SetDefaultTextMapPropagator(sdk);
        }

        (Chain chain, IReadOnlyList<Activity> exported, ActivityTraceId trace) = call;
        ActivityTraceId[] hops = [.. new[] { chain.Gateway, chain.Orders, chain.Billing }.Select(s => Chain.ServerSpan(exported, s).TraceId)];
        Assert.DoesNotContain(trace, hops, "without traceparent no hop joins the user's trace");
        Assert.HasCount(3, hops.Distinct(), "each hop starts a trace of its own");
        Assert.ThrowsExactly<AssertFailedException>(() => AssertOneTraceAcrossTheHops(chain, exported, trace), "the check sees the broken trace");
    }

    /// <summary>
    /// What one trace across the hops means: gateway's, orders' and billing's request spans (ASP.NET Core), the
    /// HttpClient span and the SecureComms outbound span of each call, and each service's <c>securecomms.authorize</c>
    /// span all carry the trace of the user's call; each request span's parent is the HttpClient span that sent it
    /// (the W3C <c>traceparent</c> crossed the hop); each decision span's parent is the request span of the service
    /// that decided. The spans are found by port, client name and caller, not by the trace id they are checked for.
    /// </summary>
    private static void AssertOneTraceAcrossTheHops(Chain chain, IReadOnlyList<Activity> exported, ActivityTraceId trace)
    {
        (SecureServiceHost Service, string CallerClient, SpiffeId Caller)[] hops =
        [
            (chain.Gateway, "server", WebId),
            (chain.Orders, "orders", GatewayId),
            (chain.Billing, "billing", TestPki.Orders),
        ];

        Activity? callerRequest = null;
        foreach ((SecureServiceHost service, string callerClient, SpiffeId caller) in hops)
        {
            string hop = $"{caller.Path.TrimStart('/')} → {service.BaseAddress.Port}";
            Activity request = Chain.ServerSpan(exported, service);
            Activity http = Assert.ContainsSingle(
                s => s.Source.Name == "System.Net.Http" && s.Kind == ActivityKind.Client && Chain.IsOnPort(s, service),
                exported,
                $"{hop}: one HttpClient span");
            Activity outbound = Assert.ContainsSingle(s => s.SpanId == http.ParentSpanId, exported, $"{hop}: the HttpClient span sits inside a span");
            Activity decision = Assert.ContainsSingle(
                s => s.OperationName == Spans.InboundDecision && (string?)s.GetTagItem(Tags.PeerSpiffeId) == caller.ToString() && s.ParentSpanId == request.SpanId,
                exported,
                $"{hop}: one decision span for {caller} inside the request span");

            Assert.AreEqual(trace, request.TraceId, $"{hop}: the request span is in the user's trace");
            Assert.AreEqual(trace, http.TraceId, $"{hop}: the HttpClient span is in the user's trace");
            Assert.AreEqual(http.SpanId, request.ParentSpanId, $"{hop}: traceparent carried the HttpClient span to the server");
            Assert.AreEqual(Spans.OutboundCall, outbound.OperationName, $"{hop}: the HttpClient span sits inside SecureComms' outbound span");
            Assert.AreEqual(callerClient, outbound.GetTagItem(Tags.ClientName), hop);
            Assert.AreEqual(trace, outbound.TraceId, hop);
            Assert.AreEqual(SecureCommsTelemetry.Results.Allow, decision.GetTagItem(Tags.Decision), hop);
            Assert.AreEqual(trace, decision.TraceId, hop);
            if (callerRequest is not null)
            {
                Assert.AreEqual(callerRequest.SpanId, outbound.ParentSpanId, $"{hop}: the outbound call sits inside the calling service's request span");
            }

            callerRequest = request;
        }

        // The tokens the hops needed were acquired inside the requests that needed them, in the same trace.
        Assert.AreEqual(2, exported.Count(s => s.OperationName == Spans.TokenAcquisition && s.TraceId == trace), "gateway's token for orders and orders' token for billing");
    }

    /// <summary>
    /// Starts the chain, sends one call from the web front end to gateway under a root span of the test's, stops the
    /// services so that every request span has ended, and returns what the SDK's in-memory exporter received.
    /// </summary>
    private static async Task<(Chain Chain, IReadOnlyList<Activity> Exported, ActivityTraceId Trace)> CallThroughTheChainAsync()
    {
        var exported = new List<Activity>();
        using TracerProvider tracing = Sdk.CreateTracerProviderBuilder()
            .AddAspNetCoreInstrumentation()
            .AddHttpClientInstrumentation()
            .AddSource(SecureCommsTelemetry.ActivitySourceName)
            .AddSource(User.Name)
            .AddInMemoryExporter(exported)
            .Build()!;

        // The services start before the root span, so that no listening socket carries it in its execution context.
        await using Chain chain = await Chain.StartAsync();
        ActivityTraceId trace;
        using (Activity root = User.StartActivity("a user opens order 42")!)
        {
            trace = root.TraceId;
            using HttpResponseMessage response = await chain.Web.GetAsync(new Uri("/orders/42", UriKind.Relative));
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
            Assert.AreEqual("order 42, invoices for spiffe://example.org/orders", await response.Content.ReadAsStringAsync());
        }

        await chain.StopAsync(); // every request span ends before its request is done
        tracing.Dispose(); // flushed and shut down: nothing is exported into the list any more
        return (chain, exported, trace);
    }

    /// <summary>The token server, billing, orders and gateway, all real, and the web front end's client for gateway.</summary>
    private sealed class Chain : IAsyncDisposable
    {
        private readonly DevelopmentTokenServer _tokenServer;
        private readonly ServiceProvider _web;
        private bool _stopped;

        private Chain(DevelopmentTokenServer tokenServer, SecureServiceHost billing, SecureServiceHost orders, SecureServiceHost gateway, ServiceProvider web, HttpClient webClient)
        {
            _tokenServer = tokenServer;
            Billing = billing;
            Orders = orders;
            Gateway = gateway;
            _web = web;
            Web = webClient;
        }

        public SecureServiceHost Billing { get; }

        public SecureServiceHost Orders { get; }

        public SecureServiceHost Gateway { get; }

        public HttpClient Web { get; }

        public static async Task<Chain> StartAsync()
        {
            DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
            {
                ServerCertificate = TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server")),
                ClientTrust = TestPki.Ca.CreateTrustBundle(),
                Clients =
                [
                    new DevelopmentClient { ClientId = "gateway", TlsClientAuthSanUri = GatewayId, AllowedScopes = ["orders.read"], AllowedResources = [OrdersResource] },
                    new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TestPki.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [BillingResource] },
                ],
            });
            string authority = tokenServer.Issuer.ToString();

            SecureServiceHost billing = await SecureServiceHost.StartAsync(
                app => app.MapGet("/invoices", (HttpContext context) => $"invoices for {context.GetCallerSpiffeId()}")
                    .RequireCaller(TestPki.Orders.ToString())
                    .RequireScope("invoices.read"),
                new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
                TestPki.Bundles(),
                AcceptsTokens(authority, BillingResource));

            Dictionary<string, string?> ordersSettings = AcceptsTokens(authority, OrdersResource);
            CallsWithToken(ordersSettings, "billing", billing.BaseAddress, authority, "orders", "invoices.read", BillingResource);
            SecureServiceHost orders = await SecureServiceHost.StartAsync(
                app => app.MapGet("/orders/{id}", async (string id, IHttpClientFactory clients, CancellationToken cancel) =>
                        $"order {id}, {await clients.CreateClient("billing").GetStringAsync(new Uri("/invoices", UriKind.Relative), cancel)}")
                    .RequireCaller(GatewayId.ToString())
                    .RequireScope("orders.read"),
                new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)),
                TestPki.Bundles(),
                ordersSettings);

            Dictionary<string, string?> gatewaySettings = [];
            CallsWithToken(gatewaySettings, "orders", orders.BaseAddress, authority, "gateway", "orders.read", OrdersResource);
            SecureServiceHost gateway = await SecureServiceHost.StartAsync(
                app => app.MapGet("/orders/{id}", (string id, IHttpClientFactory clients, CancellationToken cancel) =>
                        clients.CreateClient("orders").GetStringAsync(new Uri($"/orders/{Uri.EscapeDataString(id)}", UriKind.Relative), cancel))
                    .RequireCaller(WebId.ToString()),
                new InMemoryCertificateSource(TestPki.Issue(GatewayId)),
                TestPki.Bundles(),
                gatewaySettings);

            // The web front end calls gateway with mutual TLS only: gateway asks for no token.
            (ServiceProvider web, HttpClient webClient) = TestClients.SecureClient(new InMemoryCertificateSource(TestPki.Issue(WebId)), GatewayId.ToString(), gateway.BaseAddress);
            return new Chain(tokenServer, billing, orders, gateway, web, webClient);
        }

        /// <summary>The one request span (ASP.NET Core's server span) the service exported.</summary>
        public static Activity ServerSpan(IReadOnlyList<Activity> exported, SecureServiceHost service) => Assert.ContainsSingle(
            s => s.Source.Name == "Microsoft.AspNetCore" && s.Kind == ActivityKind.Server && IsOnPort(s, service),
            exported,
            $"one request span on port {service.BaseAddress.Port}");

        /// <summary>Whether the span is a request to or from the service's port (the instrumentation's <c>server.port</c>).</summary>
        public static bool IsOnPort(Activity span, SecureServiceHost service) =>
            span.GetTagItem("server.port") is { } port && Convert.ToInt32(port, CultureInfo.InvariantCulture) == service.BaseAddress.Port;

        /// <summary>Stops every service; a second call does nothing.</summary>
        public async Task StopAsync()
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            Web.Dispose();
            await _web.DisposeAsync();
            await Gateway.DisposeAsync();
            await Orders.DisposeAsync();
            await Billing.DisposeAsync();
            await _tokenServer.DisposeAsync();
        }

        public async ValueTask DisposeAsync() => await StopAsync();

        private static Dictionary<string, string?> AcceptsTokens(string authority, string audience) => new()
        {
            ["SecureComms:TokenValidation:Authority"] = authority,
            ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
            ["SecureComms:TokenValidation:Audience"] = audience,
        };

        private static void CallsWithToken(Dictionary<string, string?> settings, string client, Uri address, string authority, string clientId, string scope, string resource)
        {
            settings[$"SecureComms:Clients:{client}:BaseAddress"] = address.ToString();
            settings[$"SecureComms:Clients:{client}:ExpectedServer"] = $"spiffe://example.org/{client}";
            settings[$"SecureComms:Clients:{client}:Token:Authority"] = authority;
            settings[$"SecureComms:Clients:{client}:Token:ExpectedServer"] = "spiffe://example.org/token-server";
            settings[$"SecureComms:Clients:{client}:Token:ClientId"] = clientId;
            settings[$"SecureComms:Clients:{client}:Token:Scope"] = scope;
            settings[$"SecureComms:Clients:{client}:Token:Resource"] = resource;
        }
    }
}
