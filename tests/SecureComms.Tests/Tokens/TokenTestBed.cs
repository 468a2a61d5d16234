using System.Buffers.Text;
using System.Text;
using System.Text.Json;
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
        bool includeIssuedAt = true)
    {
        time ??= TimeProvider.System;
        var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"), time);
        WorkloadCertificate orders = ca.IssueSvid(Orders);
        var server = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/token-server")),
            ClientTrust = ca.CreateTrustBundle(),
            TimeProvider = time,
            IncludeNotBefore = includeNotBefore,
            IncludeIssuedAt = includeIssuedAt,
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
        return new TokenTestBed(ca, server, new InMemoryCertificateSource(orders), time);
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

    public CertificateBoundTokenProvider Provider(AccessTokenOptions options)
    {
        var transport = new MtlsClientHandler(
            "orders (token endpoint)",
            new SecureClientOptions(),
            options.ExpectedServer is null ? null : SpiffeIdAuthorizer.Parse(options.ExpectedServer),
            Certificates,
            new PeerCertificateValidator(new StaticTrustBundleSource(Ca.CreateTrustBundle()), Time),
            Time,
            NullLogger.Instance);
        return new CertificateBoundTokenProvider("orders", options, Certificates, new TokenEndpointClient("orders", options, transport, Time, NullLogger.Instance), Time, NullLogger.Instance);
    }

    /// <summary>The <c>cnf.x5t#S256</c> claim of a JWT access token.</summary>
    public static string BoundThumbprint(AccessToken token)
    {
        string payload = token.Value.Split('.')[1];
        using JsonDocument document = JsonDocument.Parse(Base64Url.DecodeFromChars(payload));
        return document.RootElement.GetProperty("cnf").GetProperty("x5t#S256").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Ca.Dispose();
    }
}
