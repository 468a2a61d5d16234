using System.Security.Claims;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;
using SecureComms.Testing;

namespace SecureComms.Benchmarks.UserContext;

/// <summary>
/// End-user contexts: what the gateway pays per call (a minted context reused for the same user and receiver), and
/// what the receiver pays per request once it has verified a context (digest and lookup), against the first sight
/// of a forwarded two-hop context (two SVID chain builds and two ES256 signature checks).
/// </summary>
[MemoryDiagnoser]
public class UserContextBenchmarks
{
    private static readonly SpiffeId Gateway = SpiffeId.Parse("spiffe://example.org/gateway");
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");
    private static readonly SpiffeId Billing = SpiffeId.Parse("spiffe://example.org/billing");
    private DevelopmentCertificateAuthority _ca = null!;
    private UserContextMinter _gateway = null!;
    private UserContextValidator _billing = null!;
    private PeerCertificateValidator _peers = null!;
    private IOptions<SecureCommsOptions> _trust = null!;
    private ClaimsPrincipal _user = null!;
    private string _forwarded = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        _peers = new PeerCertificateValidator(new InMemoryTrustBundleSource(_ca.CreateTrustBundle()), TimeProvider.System);
        var options = new SecureCommsOptions();
        options.UserContext.MaxLifetime = TimeSpan.FromMinutes(10);
        options.UserContext.TrustedGateways.Add(Gateway.ToString());
        options.UserContext.TrustedForwarders.Add(Orders.ToString());
        _trust = Options.Create(options);
        _gateway = new UserContextMinter(new InMemoryCertificateSource(_ca.IssueSvid(Gateway)), TimeProvider.System);
        var orders = new UserContextMinter(new InMemoryCertificateSource(_ca.IssueSvid(Orders)), TimeProvider.System);
        _user = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "alice"), new Claim(ClaimTypes.Role, "buyer")], "Edge"));

        string minted = _gateway.MintForUser(_user, Orders.ToString(), TimeSpan.FromMinutes(10), ["role"])!;
        var atOrders = new UserContextValidator(_peers, TimeProvider.System, _trust);
        EndUserIdentity received = atOrders.ValidateAsync(minted, Gateway, Orders).AsTask().GetAwaiter().GetResult().User
            ?? throw new InvalidOperationException("setup: the minted context did not verify.");
        _forwarded = orders.Forward(received, Billing.ToString(), TimeSpan.FromMinutes(10))!;
        _billing = new UserContextValidator(_peers, TimeProvider.System, _trust);
        if (_billing.ValidateAsync(_forwarded, Orders, Billing).AsTask().GetAwaiter().GetResult().User is null)
        {
            throw new InvalidOperationException("setup: the forwarded context did not verify.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _ca.Dispose();

    [Benchmark(Description = "gateway: context for the same user and receiver (reused)")]
    public string? MintReused() => _gateway.MintForUser(_user, Billing.ToString(), TimeSpan.FromMinutes(10), ["role"]);

    [Benchmark(Description = "receiver: forwarded two-hop context already verified (digest + lookup)")]
    public async ValueTask<EndUserIdentity?> VerifyCached() => (await _billing.ValidateAsync(_forwarded, Orders, Billing)).User;

    [Benchmark(Description = "receiver: forwarded two-hop context, first sight (2 chain builds, 2 ES256 checks)")]
    public async ValueTask<EndUserIdentity?> VerifyCold() =>
        (await new UserContextValidator(_peers, TimeProvider.System, _trust).ValidateAsync(_forwarded, Orders, Billing)).User;
}
