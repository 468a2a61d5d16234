using System.Net;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using SecureComms.Testing;

namespace SecureComms.Benchmarks.Tokens;

/// <summary>
/// The outbound side on a token-cache hit: the provider handing out the cached certificate-bound token, and the
/// delegating handler that puts it in <c>Authorization</c>. The token was obtained once, in setup, from a real
/// development token server over mutual TLS; the handler's inner handler answers 200 without a network.
/// </summary>
[MemoryDiagnoser]
public class TokenHandlerBenchmarks
{
    private static readonly Uri Resource = new("https://billing.example.org");
    private DevelopmentCertificateAuthority _ca = null!;
    private DevelopmentTokenServer _server = null!;
    private CertificateBoundTokenProvider _provider = null!;
    private HttpMessageInvoker _invoker = null!;
    private HttpRequestMessage _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        WorkloadCertificate orders = _ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/orders"));
        _server = DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = _ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/token-server")),
            ClientTrust = _ca.CreateTrustBundle(),
            TokenLifetime = TimeSpan.FromHours(1),
            Clients = [new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = orders.SpiffeId, AllowedScopes = ["invoices.read"], AllowedResources = [Resource.OriginalString] }],
        }).GetAwaiter().GetResult();
        var options = new AccessTokenOptions
        {
            TokenEndpoint = _server.TokenEndpoint,
            ClientId = "orders",
            Scope = "invoices.read",
            Resource = Resource,
            ExpectedServer = "spiffe://example.org/token-server",
        };
        var certificates = new InMemoryCertificateSource(orders);
        var transport = new MtlsClientHandler(
            "orders (token endpoint)",
            new SecureClientOptions(),
            SpiffeIdAuthorizer.Parse(options.ExpectedServer),
            certificates,
            new PeerCertificateValidator(new InMemoryTrustBundleSource(_ca.CreateTrustBundle()), TimeProvider.System),
            TimeProvider.System,
            NullLogger.Instance);
        _provider = new CertificateBoundTokenProvider(
            "billing", options, certificates, new TokenEndpointClient("billing", options, transport, TimeProvider.System, NullLogger.Instance), TimeProvider.System, NullLogger.Instance);
        _ = _provider.GetTokenAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult(); // warm: one real token request
        _invoker = new HttpMessageInvoker(new CertificateBoundTokenHandler(_provider) { InnerHandler = new Answers200() });
        _request = new HttpRequestMessage(HttpMethod.Get, new Uri(Resource, "/invoices"));
        if (_server.TokenRequestCount != 1)
        {
            throw new InvalidOperationException("Setup should have made exactly one token request.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _invoker.Dispose();
        _provider.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _ca.Dispose();
    }

    [Benchmark(Description = "provider: cached token (cache hit)")]
    public ValueTask<AccessToken> CachedToken() => _provider.GetTokenAsync(CancellationToken.None);

    [Benchmark(Description = "handler: cached token into Authorization, request sent")]
    public Task<HttpResponseMessage> HandlerOnCacheHit() => _invoker.SendAsync(_request, CancellationToken.None);

    /// <summary>As an application calls: a new request message each time (its own allocation counts here too).</summary>
    [Benchmark(Description = "handler: cached token, a new request each time")]
    public Task<HttpResponseMessage> HandlerOnCacheHitNewRequest() =>
        _invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, _request.RequestUri), CancellationToken.None);

    private sealed class Answers200 : HttpMessageHandler
    {
        private static readonly Task<HttpResponseMessage> Ok = Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Ok;
    }
}
