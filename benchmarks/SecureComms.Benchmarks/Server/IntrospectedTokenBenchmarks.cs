using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.Testing;

namespace SecureComms.Benchmarks.Server;

/// <summary>
/// The per-request cost of authenticating a caller whose token is already known: a cached JWT (the validated-token
/// cache) against a cached opaque token (the introspection answer, obtained once from the development token server
/// over mutual TLS in the set-up), both with the <c>cnf</c> binding checked. On a connection Kestrel hands every request
/// the same <c>Authorization</c> string object; a new connection brings a new one, and the token's SHA-256 finds the
/// cached verdict instead.
/// </summary>
[MemoryDiagnoser]
public class IntrospectedTokenBenchmarks
{
    private const string Audience = "https://billing.example.org";

    private DevelopmentTokenServer _tokenServer = null!;
    private ServiceProvider _jwtServices = null!;
    private ServiceProvider _opaqueServices = null!;
    private IServiceScopeFactory _jwtScopes = null!;
    private IServiceScopeFactory _opaqueScopes = null!;
    private X509Certificate2 _caller = null!;
    private string _jwtHeader = null!;
    private string _opaqueHeader = null!;

    [GlobalSetup]
    public void Setup()
    {
        var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        WorkloadCertificate orders = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/orders"));
        WorkloadCertificate billing = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/billing"));
        _caller = orders.Certificate;
        _tokenServer = DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/token-server")),
            ClientTrust = ca.CreateTrustBundle(),
            TokenLifetime = TimeSpan.FromHours(1),
            Clients = [new DevelopmentClient { ClientId = "billing", TlsClientAuthSanUri = SpiffeId.Parse("spiffe://example.org/billing") }],
        }).GetAwaiter().GetResult();

        var issuer = new BenchmarkTokenIssuer();
        _jwtServices = Build(ca, billing, new Dictionary<string, string?> { ["SecureComms:TokenValidation:Authority"] = BenchmarkTokenIssuer.Issuer }, issuer.TrustIn);
        _opaqueServices = Build(ca, billing, new Dictionary<string, string?>
        {
            ["SecureComms:TokenValidation:Authority"] = _tokenServer.Issuer.ToString(),
            ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
            ["SecureComms:TokenValidation:Introspection:Enabled"] = "true",
            ["SecureComms:TokenValidation:Introspection:Endpoint"] = _tokenServer.IntrospectionEndpoint.ToString(),
            ["SecureComms:TokenValidation:Introspection:ClientId"] = "billing",
            ["SecureComms:TokenValidation:Introspection:MaxCacheDuration"] = "01:00:00",
        });
        _jwtScopes = _jwtServices.GetRequiredService<IServiceScopeFactory>();
        _opaqueScopes = _opaqueServices.GetRequiredService<IServiceScopeFactory>();
        BenchmarkTokenIssuer.ValidateInHandshake(_jwtServices, orders);
        BenchmarkTokenIssuer.ValidateInHandshake(_opaqueServices, orders);
        _jwtHeader = "Bearer " + issuer.CreateBoundToken(Audience, "orders", "invoices.read", orders, TimeSpan.FromHours(1));
        _opaqueHeader = "Bearer " + _tokenServer.IssueOpaqueToken("orders", Audience, ["invoices.read"], orders.Certificate);

        // Warm both caches (the opaque token's by one real introspection call) and check that both are accepted.
        if (!CachedJwtAsync().GetAwaiter().GetResult() || !CachedOpaqueTokenAsync().GetAwaiter().GetResult()
            || !CachedJwtNewConnectionAsync().GetAwaiter().GetResult() || !CachedOpaqueTokenNewConnectionAsync().GetAwaiter().GetResult()
            || _tokenServer.IntrospectionRequestCount != 1)
        {
            throw new InvalidOperationException("A benchmark token is not accepted, or was introspected more than once; the setup is wrong.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _jwtServices.Dispose();
        _opaqueServices.Dispose();
        _tokenServer.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "cached JWT, same connection (header object reused)")]
    public Task<bool> CachedJwtAsync() => AuthenticateAsync(_jwtScopes, _jwtHeader);

    [Benchmark(Description = "cached introspected opaque token, same connection (header object reused)")]
    public Task<bool> CachedOpaqueTokenAsync() => AuthenticateAsync(_opaqueScopes, _opaqueHeader);

    [Benchmark(Description = "cached JWT, new connection (new header object: SHA-256 lookup)")]
    public Task<bool> CachedJwtNewConnectionAsync() => AuthenticateAsync(_jwtScopes, new string(_jwtHeader.AsSpan()));

    [Benchmark(Description = "cached introspected opaque token, new connection (new header object: SHA-256 lookup)")]
    public Task<bool> CachedOpaqueTokenNewConnectionAsync() => AuthenticateAsync(_opaqueScopes, new string(_opaqueHeader.AsSpan()));

    private static ServiceProvider Build(DevelopmentCertificateAuthority ca, WorkloadCertificate own, Dictionary<string, string?> settings, Action<IServiceCollection>? configure = null)
    {
        settings["SecureComms:TokenValidation:Audience"] = Audience;
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Critical));
        services.AddSingleton(configuration);
        services.AddSecureComms(configuration)
            .UseCertificateSource(new InMemoryCertificateSource(own))
            .UseTrustBundleSource(new InMemoryTrustBundleSource(ca.CreateTrustBundle()));
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    private async Task<bool> AuthenticateAsync(IServiceScopeFactory scopes, string authorization)
    {
        var context = new DefaultHttpContext { ServiceScopeFactory = scopes };
        context.Features.Set<ITlsConnectionFeature>(new TlsConnectionFeature { ClientCertificate = _caller });
        context.Request.Method = "GET";
        context.Request.Path = "/invoices/42";
        context.Request.Headers.Authorization = authorization;
        try
        {
            AuthenticateResult result = await context.AuthenticateAsync(SecureCommsDefaults.AuthenticationScheme);
            return result.Succeeded;
        }
        finally
        {
            await FullRequestCheckBenchmarks.EndRequestAsync(context);
        }
    }
}
