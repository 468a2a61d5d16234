using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Net.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureComms.Testing;
using SecureComms.Tests.Fakes;

namespace SecureComms.Tests.Tokens;

/// <summary>A real development token server on loopback and a token provider talking to it over mutual TLS.</summary>
internal sealed class TokenTestBed : IAsyncDisposable
{
    public static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");
    public static readonly Uri Billing = new("https://billing.example.org");

    private TokenTestBed(DevelopmentCertificateAuthority ca, DevelopmentTokenServer server, InMemoryCertificateSource certificates, TimeProvider time)
    {
        Ca = ca;
        Server = server;
        Certificates = certificates;
        Time = time;
    }

    public DevelopmentCertificateAuthority Ca { get; }

    public DevelopmentTokenServer Server { get; }

    public InMemoryCertificateSource Certificates { get; }

    public TimeProvider Time { get; }

    public static async Task<TokenTestBed> StartAsync(
        TimeProvider? time = null,
        Func<DevelopmentCertificateAuthority, WorkloadCertificate, IList<DevelopmentClient>>? clients = null,
        bool includeNotBefore = true,
        bool includeIssuedAt = true,
        Action<TokenServerSetup>? server = null,
        TimeSpan? tokenLifetime = null)
    {
        var setup = new TokenServerSetup();
        server?.Invoke(setup);
        time ??= TimeProvider.System;
        var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"), time);
        WorkloadCertificate orders = ca.IssueSvid(Orders);
        var tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/token-server")),
            ClientTrust = ca.CreateTrustBundle(),
            TimeProvider = time,
            TokenLifetime = tokenLifetime ?? TimeSpan.FromMinutes(5),
            IncludeNotBefore = includeNotBefore,
            IncludeIssuedAt = includeIssuedAt,
            TlsCertificate = setup.TlsCertificate,
            HostName = setup.HostName,
            BeforeTokenResponse = setup.BeforeTokenResponse,
            Clients = clients?.Invoke(ca, orders) ??
            [
                new DevelopmentClient
                {
                    ClientId = "orders",
                    TlsClientAuthSanUri = Orders,
                    AllowedScopes = ["invoices.read", "invoices.write"],
                    AllowedResources = [Billing.OriginalString],
                },
            ],
        });
        return new TokenTestBed(ca, tokenServer, new InMemoryCertificateSource(orders), time);
    }

    public AccessTokenOptions Options(Action<AccessTokenOptions>? configure = null)
    {
        var options = new AccessTokenOptions
        {
            TokenEndpoint = Server.TokenEndpoint,
            ClientId = "orders",
            Scope = "invoices.read",
            Resource = Billing,
            ExpectedServer = "spiffe://example.org/token-server",
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        };
        configure?.Invoke(options);
        return options;
    }

    public CertificateBoundTokenProvider Provider(AccessTokenOptions options, ILogger? logger = null, SecureCommsMetrics? metrics = null)
    {
        logger ??= NullLogger.Instance;
        var transport = new MtlsClientHandler(
            "orders (token endpoint)",
            new SecureClientOptions(),
            options.ExpectedServer is null ? null : SpiffeIdAuthorizer.Parse(options.ExpectedServer),
            Certificates,
            new PeerCertificateValidator(new StaticTrustBundleSource(Ca.CreateTrustBundle()), Time),
            Time,
            logger,
            metrics,
            options.ServerCaBundlePath is null ? null : ServerCaBundle.Load("Token:ServerCaBundlePath", options.ServerCaBundlePath));
        return new CertificateBoundTokenProvider("orders", options, Certificates, new TokenEndpointClient("orders", options, transport, Time, logger), Time, logger, metrics);
    }

    /// <summary>The <c>cnf.x5t#S256</c> claim of a JWT access token.</summary>
    public static string BoundThumbprint(AccessToken token)
    {
        string payload = token.Value.Split('.')[1];
        using JsonDocument document = JsonDocument.Parse(Base64Url.DecodeFromChars(payload));
        return document.RootElement.GetProperty("cnf").GetProperty("x5t#S256").GetString()!;
    }

    /// <summary>The <c>sub</c> claim of a JWT access token: the client itself, or the user of an exchanged token.</summary>
    public static string Subject(AccessToken token)
    {
        string payload = token.Value.Split('.')[1];
        using JsonDocument document = JsonDocument.Parse(Base64Url.DecodeFromChars(payload));
        return document.RootElement.GetProperty("sub").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Ca.Dispose();
    }
}

/// <summary>How the test bed's token server differs from the default SVID-serving one.</summary>
internal sealed class TokenServerSetup
{
    /// <summary>A non-SVID TLS certificate to serve, e.g. from an internal CA.</summary>
    public SslStreamCertificateContext? TlsCertificate { get; set; }

    /// <summary>The host name in the issuer URL.</summary>
    public string HostName { get; set; } = "127.0.0.1";

    /// <summary>Awaited before each token response.</summary>
    public Func<CancellationToken, Task>? BeforeTokenResponse { get; set; }
}
