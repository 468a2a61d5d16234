using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SecureComms;
using SecureComms.Demo;
using SecureComms.Testing;
using Yarp.ReverseProxy.Configuration;

// SecureComms demo: real Kestrel services on loopback, real mutual TLS, identities from an in-process development CA
// (orders' through the development SPIFFE Workload API server, as a SPIRE agent would give it),
// certificate-bound access tokens from an in-process development token server. Development only.
// --keep-running leaves the services up and prints curl commands; --files DIR says where their certificate files go.
bool keepRunning = args.Contains("--keep-running");
int filesIndex = Array.IndexOf(args, "--files");
string? filesDirectory = filesIndex >= 0 && filesIndex + 1 < args.Length ? Path.GetFullPath(args[filesIndex + 1]) : null;
using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
const string BillingResource = "https://billing.example.org";
await using DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
{
    ServerCertificate = DemoService.IssueServingSvid(ca, SpiffeId.Parse("spiffe://example.org/token-server")),
    ClientTrust = ca.CreateTrustBundle(),
    IncludeNotBefore = false, // as node-oidc-provider issues them: RFC 9068 does not require nbf
    Clients =
    [
        new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = SpiffeId.Parse("spiffe://example.org/orders"), AllowedScopes = ["invoices.read"], AllowedResources = [BillingResource] },
        new DevelopmentClient { ClientId = "analytics", TlsClientAuthSanUri = SpiffeId.Parse("spiffe://example.org/analytics"), AllowedScopes = ["invoices.read"], AllowedResources = [BillingResource] },
    ],
});
Console.WriteLine($"SecureComms demo: trust domain {ca.TrustDomain}, in-process development CA and token server (development only)");

// Billing's central policy lives in a file an operator edits while traffic flows (reloaded on change): /my-invoices
// needs both the orders workload and an end user with role buyer.
string policyDirectory = Directory.CreateTempSubdirectory("securecomms-demo-").FullName;
string policyFile = Path.Combine(policyDirectory, "billing-policy.json");
const string GoodPolicy = """
    { "SecureComms": { "Authorization": { "Rules": [
      { "Name": "orders-for-buyers", "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/my-invoices" ], "UserClaims": { "role": "buyer" } }
    ] } } }
    """;
await File.WriteAllTextAsync(policyFile, GoodPolicy);
using var refusedEdits = new RefusedConfigurationEdits();
await using DemoService billing = await DemoService.StartAsync(
    "billing",
    ca,
    new Dictionary<string, string?>
    {
        ["SecureComms:TokenValidation:Authority"] = tokenServer.Issuer.GetLeftPart(UriPartial.Authority),
        ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
        ["SecureComms:TokenValidation:Audience"] = BillingResource,

        // End users: contexts minted by the gateway and forwarded by orders are accepted.
        ["SecureComms:UserContext:TrustedGateways:0"] = "spiffe://example.org/gateway",
        ["SecureComms:UserContext:TrustedForwarders:0"] = "spiffe://example.org/orders",
    },
    app =>
    {
        app.MapGet("/invoices", (HttpContext context) => $"invoices for {context.GetCallerSpiffeId()} (token of {context.User.FindFirst("client_id")?.Value})")
            .RequireCaller("spiffe://example.org/orders")
            .RequireScope("invoices.read");
        app.MapGet("/my-invoices", (HttpContext context) => context.User.GetEndUser() is { } user
            ? $"invoices of {user.Subject} for {context.GetCallerSpiffeId()}, via {string.Join(" → ", user.Actors.Select(a => a.Path.TrimStart('/')))}"
            : "no user");
    },
    settingsFile: policyFile);

// Every caller gets a "billing" client with a certificate-bound token, configured like appsettings.json would.
IDictionary<string, string?> CallsBilling(string clientId) => new Dictionary<string, string?>
{
    ["SecureComms:Clients:billing:BaseAddress"] = billing.Address.ToString(),
    ["SecureComms:Clients:billing:ExpectedServer"] = "spiffe://example.org/billing",
    ["SecureComms:Clients:billing:Token:Authority"] = tokenServer.Issuer.GetLeftPart(UriPartial.Authority),
    ["SecureComms:Clients:billing:Token:ExpectedServer"] = "spiffe://example.org/token-server",
    ["SecureComms:Clients:billing:Token:ClientId"] = clientId,
    ["SecureComms:Clients:billing:Token:Scope"] = "invoices.read",
    ["SecureComms:Clients:billing:Token:Resource"] = BillingResource,
};

// Orders takes its identity from a SPIFFE Workload API, as under SPIRE: here the development Workload API server on a
// Unix socket, issuing short-lived SVIDs from the development CA and pushing each rotation. Orders reads no file.
await using DevelopmentWorkloadApiServer ordersAgent = await DevelopmentWorkloadApiServer.StartAsync(new DevelopmentWorkloadApiServerOptions
{
    Authority = ca,
    SpiffeId = SpiffeId.Parse("spiffe://example.org/orders"),
    SvidLifetime = TimeSpan.FromMinutes(10),
});

var sniffer = new TokenSniffer(); // plays the attacker who captured a token in transit or from a log
IDictionary<string, string?> ordersSettings = CallsBilling("orders");
ordersSettings["SecureComms:Clients:billing:UserContext:Mode"] = "Forward"; // pass on the user it was called for
ordersSettings["SecureComms:UserContext:TrustedGateways:0"] = "spiffe://example.org/gateway";
await using DemoService orders = await DemoService.StartAsync(
    "orders",
    ca,
    ordersSettings,
    app => app.MapGet("/checkout", async (IHttpClientFactory clients) =>
    {
        using HttpResponseMessage fromBilling = await clients.CreateClient("billing").GetAsync(new Uri("/my-invoices", UriKind.Relative));
        return Results.Text(await fromBilling.Content.ReadAsStringAsync(), statusCode: (int)fromBilling.StatusCode);
    }).RequireCaller("spiffe://example.org/gateway"),
    services => services.AddHttpClient("billing").AddHttpMessageHandler(() => sniffer),
    workloadApi: ordersAgent);
IDictionary<string, string?> analyticsSettings = CallsBilling("analytics");
analyticsSettings["SecureComms:Clients:billing:UserContext:Mode"] = "Mint"; // it will try to speak for a user: billing does not let it
await using DemoService analytics = await DemoService.StartAsync("analytics", ca, analyticsSettings, _ => { }, services =>
    services.AddHttpClient("billing-without-token", c => c.BaseAddress = billing.Address).AddSecureComms("spiffe://example.org/billing"));

// The edge: a YARP gateway. Outside, HTTPS without a client certificate and the user's bearer token from the token
// server (JwtBearer; its keys fetched over the SecureComms client "identity"). Inside, YARP forwards /checkout through
// the SecureComms client "orders" (ForwardThroughSecureCommsClients), which checks orders' SPIFFE ID and mints a user
// context with the user's subject and role, signed with the gateway's own SVID key.
const string GatewayAudience = "https://gateway.example.org";
int edgePort = FreeLoopbackPort();
await using DemoService gateway = await DemoService.StartAsync("gateway", ca, new Dictionary<string, string?>
{
    ["SecureComms:Clients:orders:ExpectedServer"] = "spiffe://example.org/orders",
    ["SecureComms:Clients:orders:UserContext:Mode"] = "Mint",
    ["SecureComms:Clients:orders:UserContext:Claims:0"] = "role",
    ["SecureComms:Clients:identity:ExpectedServer"] = "spiffe://example.org/token-server",
}, app => app.MapReverseProxy(), services =>
{
    WorkloadCertificate edgeCertificate = DemoService.IssueServingSvid(ca, SpiffeId.Parse("spiffe://example.org/gateway"));
    services.Configure<KestrelServerOptions>(kestrel => kestrel.Listen(IPAddress.Loopback, edgePort, listen => listen.UseHttps(edgeCertificate.Certificate)));
    services.AddAuthentication().AddJwtBearer(options =>
    {
        options.Authority = tokenServer.Issuer.GetLeftPart(UriPartial.Authority);
        options.Audience = GatewayAudience;
        options.MapInboundClaims = false;
        options.TokenValidationParameters.RoleClaimType = "role";
    });
    services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
        .Configure<IHttpMessageHandlerFactory>((options, handlers) => options.BackchannelHttpHandler = handlers.CreateHandler("identity"));
    services.AddAuthorizationBuilder()
        .AddPolicy("end-user", policy => policy.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme).RequireAuthenticatedUser());
    services.AddReverseProxy()
        .LoadFromMemory(
            [new RouteConfig { RouteId = "checkout", ClusterId = "orders", AuthorizationPolicy = "end-user", Match = new RouteMatch { Path = "/checkout" } }],
            [new ClusterConfig { ClusterId = "orders", Destinations = new Dictionary<string, DestinationConfig> { ["orders"] = new() { Address = orders.Address.ToString() } } }])
        .ForwardThroughSecureCommsClients();
});
var signedIn = new Dictionary<string, string>(StringComparer.Ordinal); // user → the bearer token of their sign-in
using HttpClient edge = NoCertificateClient(ca);
edge.BaseAddress = new Uri($"https://127.0.0.1:{edgePort}");

foreach (DemoService service in new[] { billing, orders, analytics, gateway })
{
    Console.WriteLine($"  {service.Name,-10} {service.SpiffeId,-34} listening on {service.Address}");
}

Console.WriteLine($"  {"tokens",-10} {"spiffe://example.org/token-server",-34} issuing at {tokenServer.Issuer}");
Console.WriteLine();
var outcomes = new List<Outcome>
{
    await CallAsync("orders → billing, certificate-bound token", "200", () => orders.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative))),
    await CallAsync("analytics → billing (not in the policy)", "403", () => analytics.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative))),
    await CallAsync("analytics replays orders' stolen token", "401", () =>
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/invoices", UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", sniffer.LastToken ?? "none");
        return analytics.CreateClient("billing-without-token").SendAsync(request);
    }),
    await CallAsync("caller without a client certificate", "refused", () => NoCertificateClient(ca).GetAsync(new Uri(billing.Address, "/invoices"))),
    await CallAsync("gateway → orders → billing for alice (buyer)", "200", () => edge.SendAsync(AsUser("alice", "buyer"))),
    await CallAsync("gateway → orders → billing for bob (viewer)", "403", () => edge.SendAsync(AsUser("bob", "viewer"))),
    await CallAsync("analytics claims to act for alice", "401", () =>
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/invoices", UriKind.Relative));
        request.Options.Set(SecureCommsUserContext.User, User("alice", "buyer"));
        return analytics.CreateClient("billing").SendAsync(request);
    }),
};

bool rotated = await RotateOrdersAsync(); // the agent pushes orders a new SVID mid-run
Outcome afterRotation = await CallAsync("orders → billing after the agent rotated its SVID", "200", () => orders.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative)));
outcomes.Add(rotated ? afterRotation : afterRotation with { AsExpected = false, Detail = "orders did not take the pushed SVID within 10 s; " + afterRotation.Detail });

// The issuer rotates its signing key and withdraws the old one. Billing has never seen the new kid: it re-reads the
// JWKS and validates the same request again, so the first token under the new key is accepted. (Orders' certificate
// rotates once more so that its next token is a new one, signed with the new key.)
tokenServer.RotateSigningKey(retirePreviousKeys: true);
await RotateOrdersAsync();
outcomes.Add(await CallAsync("orders → billing, issuer rotated its signing key", "200", () => orders.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative))));

// An operator saves a bad edit of billing's policy while calls flow: it is refused (one warning, one count of
// securecomms.configuration.reloads{result=rejected}) and the last good policy keeps deciding.
await File.WriteAllTextAsync(policyFile, GoodPolicy.Replace("spiffe://example.org/orders", "not a spiffe id", StringComparison.Ordinal));
bool refused = await refusedEdits.WaitAsync(TimeSpan.FromSeconds(30));
Outcome afterBadEdit = await CallAsync("a bad policy edit is refused; alice's call goes on", "200", () => edge.SendAsync(AsUser("alice", "buyer")));
outcomes.Add(refused ? afterBadEdit : afterBadEdit with { AsExpected = false, Detail = "the bad edit was not reported as refused within 30 s; " + afterBadEdit.Detail });
await File.WriteAllTextAsync(policyFile, GoodPolicy);

Console.WriteLine($"{"scenario",-52} {"expected",-9} {"actual",-9} {"",-4} what happened");
foreach (Outcome outcome in outcomes)
{
    Console.WriteLine($"{outcome.Scenario,-52} {outcome.Expected,-9} {outcome.Actual,-9} {(outcome.AsExpected ? "ok" : "FAIL"),-4} {outcome.Detail}");
}

bool allAsExpected = outcomes.TrueForAll(o => o.AsExpected);
Console.WriteLine();
Console.WriteLine(allAsExpected ? "Every outcome was as expected." : "Some outcomes were NOT as expected.");
if (keepRunning)
{
    await TryItByHand.RunUntilStoppedAsync(ca, billing.Address, tokenServer.TokenEndpoint, BillingResource, filesDirectory);
}

Directory.Delete(policyDirectory, recursive: true);
return allAsExpected ? 0 : 1;

// The agent issues and pushes a new SVID; orders applies it from the stream (its next connection presents it, its next
// token is bound to it). True once orders presents the pushed certificate.
async Task<bool> RotateOrdersAsync()
{
    X509Certificate2 pushed = await ordersAgent.RotateAsync();
    for (int i = 0; i < 500; i++)
    {
        if (orders.CurrentCertificate.Certificate.Thumbprint == pushed.Thumbprint)
        {
            return true;
        }

        await Task.Delay(20);
    }

    return false;
}

static ClaimsPrincipal User(string name, string role) =>
    new(new ClaimsIdentity([new Claim("sub", name), new Claim(ClaimTypes.Role, role)], "DemoEdgeLogin"));

// The user's call at the edge: the bearer token the token server issued for the gateway when the user signed in (once;
// later calls reuse it, also after the issuer's key rotation: the gateway's JwtBearer asks for the issuer's keys again
// only when its metadata refresh is due, so a token under an unknown key would get one 401 until then).
HttpRequestMessage AsUser(string name, string role)
{
    var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/checkout", UriKind.Relative));
    if (!signedIn.TryGetValue(name, out string? token))
    {
        token = tokenServer.IssueUserToken(name, GatewayAudience, new Dictionary<string, object> { ["role"] = role });
        signedIn[name] = token;
    }

    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
    return request;
}

static int FreeLoopbackPort()
{
    using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static async Task<Outcome> CallAsync(string scenario, string expected, Func<Task<HttpResponseMessage>> call)
{
    try
    {
        using HttpResponseMessage response = await call();
        string actual = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        string detail = response.StatusCode == HttpStatusCode.OK
            ? await response.Content.ReadAsStringAsync()
            : $"{(int)response.StatusCode} {response.StatusCode} {response.Headers.WwwAuthenticate}".TrimEnd();
        return new Outcome(scenario, expected, actual, actual == expected, detail);
    }
    catch (HttpRequestException ex)
    {
        return new Outcome(scenario, expected, "refused", expected == "refused", "TLS handshake refused: " + (ex.InnerException?.Message ?? ex.Message));
    }
}

// A plain client that checks billing's certificate against the demo CA but presents none of its own.
static HttpClient NoCertificateClient(DevelopmentCertificateAuthority ca) => new(new SocketsHttpHandler
{
    SslOptions = new SslClientAuthenticationOptions
    {
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca.Certificate);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return certificate is X509Certificate2 leaf && chain.Build(leaf);
        },
    },
});

internal sealed record Outcome(string Scenario, string Expected, string Actual, bool AsExpected, string Detail);

/// <summary>Completes when SecureComms counts a refused configuration change (the metric an operator would alert on).</summary>
internal sealed class RefusedConfigurationEdits : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly TaskCompletionSource _refused = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RefusedConfigurationEdits()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == SecureCommsTelemetry.MeterName && instrument.Name == SecureCommsTelemetry.Instruments.ConfigurationReloads)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == SecureCommsTelemetry.Tags.Result && Equals(tag.Value, SecureCommsTelemetry.Results.Rejected))
                {
                    _refused.TrySetResult();
                }
            }
        });
        _listener.Start();
    }

    public async Task<bool> WaitAsync(TimeSpan timeout)
    {
        try
        {
            await _refused.Task.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>Copies the bearer token of each request: what an attacker who captured traffic or a log would hold.</summary>
internal sealed class TokenSniffer : DelegatingHandler
{
    public string? LastToken { get; private set; }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        LastToken = request.Headers.Authorization?.Parameter ?? LastToken;
        return base.SendAsync(request, cancellationToken);
    }
}
