using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using SecureComms.Load.Rpc;
using SecureComms.Testing;

namespace SecureComms.Load;

/// <summary>
/// The same minimal endpoint, <c>GET /work</c>, served three ways on 127.0.0.1 with a free port; and its gRPC
/// counterpart, <c>/securecomms.load.Work/Do</c>, on servers set up the same way (mTLS only, full SecureComms).
/// </summary>
internal static class LoadServers
{
    public const string Body = "ok";

    /// <summary>Kestrel with a server certificate only: TLS, no client certificate.</summary>
    public static Task<WebApplication> StartTlsOnlyAsync(WorkloadCertificate server) =>
        StartPlainAsync(server, https => https.ClientCertificateMode = ClientCertificateMode.NoCertificate, null);

    /// <summary>
    /// Kestrel requiring a client certificate checked the way a team would by hand: an X509Chain against the
    /// development CA in the handshake (once per connection). No identity, token or policy: the baseline.
    /// </summary>
    public static Task<WebApplication> StartMutualTlsOnlyAsync(WorkloadCertificate server, X509Certificate2 ca) =>
        StartPlainAsync(server, https => RequireDevelopmentCaClient(https, ca), null);

    /// <summary>The mTLS-only baseline also serving the gRPC <see cref="WorkService"/> (Grpc.AspNetCore).</summary>
    public static Task<WebApplication> StartMutualTlsOnlyGrpcAsync(WorkloadCertificate server, X509Certificate2 ca) =>
        StartPlainAsync(server, https => RequireDevelopmentCaClient(https, ca), app => app.MapGrpcService<WorkService>(), services => services.AddGrpc());

    private static void RequireDevelopmentCaClient(HttpsConnectionAdapterOptions https, X509Certificate2 ca)
    {
        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        https.ClientCertificateValidation = (certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate);
        };
    }

    /// <summary>
    /// Full SecureComms: mTLS with SVID validation, a certificate-bound JWT and the central policy. With
    /// <paramref name="grpc"/>, the server also serves the gRPC <see cref="WorkService"/>, and
    /// the central rule opens its method path to the caller (gRPC calls are POSTs to <c>/package.Service/Method</c>).
    /// With <paramref name="behindProxy"/>, it also opens a plaintext listener for a TLS-terminating proxy on loopback
    /// (<see cref="PlaintextAddress"/>) and takes the caller's certificate from nginx's <c>X-Client-Cert</c>
    /// (<c>$ssl_client_escaped_cert</c>) when the peer is 127.0.0.1: the trusted-proxy path, where the forwarded
    /// certificate is validated as an SVID like a direct one and the token must be bound to it.
    /// </summary>
    public static async Task<WebApplication> StartSecureCommsAsync(TrustBundle bundle, WorkloadCertificate server, Uri tokenIssuer, string audience, SpiffeId caller, bool grpc = false, bool behindProxy = false)
    {
        // Configured in code: appsettings files are not watched for changes (the watcher would follow every directory
        // under the working directory).
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.WebHost.UseKestrel();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0",
            ["SecureComms:TokenValidation:Authority"] = tokenIssuer.GetLeftPart(UriPartial.Authority),
            ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
            ["SecureComms:TokenValidation:Audience"] = audience,
            ["SecureComms:Authorization:Rules:0:Name"] = "load-client-works",
            ["SecureComms:Authorization:Rules:0:Callers:0"] = caller.ToString(),
            ["SecureComms:Authorization:Rules:0:Paths:0"] = grpc ? WorkService.DoPath : "/work",
            ["SecureComms:Authorization:Rules:0:Methods:0"] = grpc ? "POST" : "GET",
        });
        if (behindProxy)
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["SecureComms:Server:PlaintextEndpoints:proxy:Url"] = "http://127.0.0.1:0",
                ["SecureComms:Server:ForwardedCertificates:Format"] = "NginxEscapedPem",
                ["SecureComms:Server:ForwardedCertificates:HeaderName"] = "X-Client-Cert",
                ["SecureComms:Server:ForwardedCertificates:TrustedProxies:0"] = "127.0.0.1",
            });
        }

        if (grpc)
        {
            builder.Services.AddGrpc();
        }

        builder.Services.AddSecureComms(builder.Configuration)
            .UseCertificateSource(new InMemoryCertificateSource(server))
            .UseTrustBundleSource(new InMemoryTrustBundleSource(bundle));
        WebApplication app = builder.Build();
        app.MapGet("/work", () => Body); // also beside the gRPC service, as on the mTLS-only gRPC server: the same routes
        if (grpc)
        {
            app.MapGrpcService<WorkService>();
        }

        await app.StartAsync();
        return app;
    }

    /// <summary>
    /// The gateway hop: a YARP gateway with SecureComms (<c>ForwardThroughSecureCommsClients</c>) whose external TLS
    /// listener (no client certificate, <paramref name="edge"/>'s certificate) forwards <c>GET /work</c> to
    /// <paramref name="backend"/> through the SecureComms client "work": <paramref name="gateway"/>'s SVID, the backend's
    /// SPIFFE ID checked, a token bound to the SVID. Returns the gateway and its external address.
    /// </summary>
    public static async Task<(WebApplication Gateway, Uri Edge)> StartYarpGatewayAsync(
        DevelopmentCertificateAuthority ca, WorkloadCertificate gateway, WorkloadCertificate edge, DevelopmentTokenServer tokens, string audience, Uri backend)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.WebHost.UseKestrel();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0", // the gateway's own mutual-TLS listener, unused here
            ["SecureComms:Clients:work:ExpectedServer"] = "spiffe://example.org/work",
            ["SecureComms:Clients:work:Token:Authority"] = tokens.Issuer.GetLeftPart(UriPartial.Authority),
            ["SecureComms:Clients:work:Token:ExpectedServer"] = "spiffe://example.org/token-server",
            ["SecureComms:Clients:work:Token:ClientId"] = "load-client",
            ["SecureComms:Clients:work:Token:Scope"] = "work",
            ["SecureComms:Clients:work:Token:Resource"] = audience,
        });
        builder.Services.AddSecureComms(builder.Configuration)
            .UseCertificateSource(new InMemoryCertificateSource(gateway))
            .UseTrustBundleSource(new InMemoryTrustBundleSource(ca.CreateTrustBundle()));
        int edgePort = FreeLoopbackPort();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, edgePort, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(edge.Certificate);
        }));
        builder.Services.AddReverseProxy()
            .LoadFromMemory(
                [new Yarp.ReverseProxy.Configuration.RouteConfig { RouteId = "work", ClusterId = "work", AuthorizationPolicy = "anonymous", Match = new() { Path = "/work" } }],
                [new Yarp.ReverseProxy.Configuration.ClusterConfig { ClusterId = "work", Destinations = new Dictionary<string, Yarp.ReverseProxy.Configuration.DestinationConfig> { ["work"] = new() { Address = backend.ToString() } } }])
            .ForwardThroughSecureCommsClients();
        WebApplication app = builder.Build();
        app.MapReverseProxy();
        await app.StartAsync();
        return (app, new Uri($"https://127.0.0.1:{edgePort}"));
    }

    /// <summary>
    /// The development token server every run's callers get their tokens from: SVID <c>spiffe://example.org/token-server</c>,
    /// one client, <c>load-client</c>, authenticated by <paramref name="caller"/>'s certificate (<c>tls_client_auth</c>),
    /// allowed the scope <c>work</c> for <paramref name="audience"/>; tokens live an hour.
    /// </summary>
    public static Task<DevelopmentTokenServer> StartTokenServerAsync(DevelopmentCertificateAuthority ca, SpiffeId caller, string audience) =>
        DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/token-server"), TimeSpan.FromHours(4)),
            ClientTrust = ca.CreateTrustBundle(),
            TokenLifetime = TimeSpan.FromHours(1),
            Clients = [new DevelopmentClient { ClientId = "load-client", TlsClientAuthSanUri = caller, AllowedScopes = ["work"], AllowedResources = [audience] }],
        });

    /// <summary>
    /// The full mode's caller: a SecureComms client of <c>spiffe://example.org/work</c> (its SPIFFE ID checked) with a
    /// token bound to the client SVID from the development token server at <paramref name="tokenIssuer"/>.
    /// </summary>
    public static SecureClientOptions SecureCommsClient(Uri? address, Uri tokenIssuer, string audience) => new()
    {
        BaseAddress = address,
        ExpectedServer = "spiffe://example.org/work",
        Token = new AccessTokenOptions
        {
            Authority = new Uri(tokenIssuer.GetLeftPart(UriPartial.Authority)),
            ExpectedServer = "spiffe://example.org/token-server",
            ClientId = "load-client",
            Scope = "work",
            Resource = new Uri(audience),
        },
    };

    public static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Diagnostic: the mTLS-only server plus ASP.NET Core authentication and authorization with a trivial scheme (a
    /// principal with one claim per request, a fallback policy requiring an authenticated user): what the framework's
    /// pipeline costs any scheme, SecureComms' or another, under the same load.
    /// </summary>
    public static Task<WebApplication> StartMutualTlsWithFrameworkAuthAsync(WorkloadCertificate server, X509Certificate2 ca) =>
        StartPlainAsync(
            server,
            https =>
            {
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (certificate, _, _) => TrustsDevelopmentCa(ca, certificate);
            },
            null,
            services =>
            {
                services.AddAuthentication(TrivialAuthenticationHandler.SchemeName)
                    .AddScheme<AuthenticationSchemeOptions, TrivialAuthenticationHandler>(TrivialAuthenticationHandler.SchemeName, null);
                services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
            });

    private static async Task<WebApplication> StartPlainAsync(WorkloadCertificate server, Action<HttpsConnectionAdapterOptions> https, Action<WebApplication>? map, Action<IServiceCollection>? services = null)
    {
        // Configured in code: appsettings files are not watched for changes (the watcher would follow every directory
        // under the working directory).
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        services?.Invoke(builder.Services);
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(options =>
            {
                options.ServerCertificateChain = server.Intermediates;
                options.ServerCertificate = server.Certificate;
                options.SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;
                https(options);
            });
        }));
        WebApplication app = builder.Build();
        app.MapGet("/work", () => Body);
        map?.Invoke(app);
        await app.StartAsync();
        return app;
    }

    public static Uri Address(WebApplication app) => new(app.Urls.First(u => u.StartsWith("https://", StringComparison.Ordinal)));

    /// <summary>A server's plaintext listener (the one opened for a proxy).</summary>
    public static Uri PlaintextAddress(WebApplication app) => new(app.Urls.First(u => u.StartsWith("http://", StringComparison.Ordinal)));

    /// <summary>A server-certificate check against the development CA (SecureComms' own client checks the SPIFFE ID instead).</summary>
    public static bool TrustsDevelopmentCa(X509Certificate2 ca, X509Certificate? certificate)
    {
        if (certificate is not X509Certificate2 leaf)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    /// <summary>A plain client handler: the CA-checked server, optionally a client certificate, optionally no TLS resumption.</summary>
    public static SocketsHttpHandler PlainHandler(X509Certificate2 ca, WorkloadCertificate? client, bool allowResume = true) => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) => TrustsDevelopmentCa(ca, certificate),
            ClientCertificateContext = client is null ? null : SslStreamCertificateContext.Create(client.Certificate, client.Intermediates, offline: true),
            AllowTlsResume = allowResume,
        },
    };
}

/// <summary>A scheme that authenticates every request with a one-claim principal: the framework's cost without any checks.</summary>
internal sealed class TrivialAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Trivial";
    private static readonly Claim Caller = new("caller", "spiffe://example.org/load-client");

    protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
        Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([Caller], SchemeName)), SchemeName)));
}
