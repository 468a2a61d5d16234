using BenchmarkDotNet.Attributes;

namespace SecureComms.Benchmarks.Identity;

/// <summary>
/// The per-request identity costs: parsing a peer's SPIFFE ID, refusing a hostile one, and authorizing a parsed ID.
/// Authorization must not allocate.
/// </summary>
[MemoryDiagnoser]
public class SpiffeIdBenchmarks
{
    // Instance fields, not constants: the benchmarks read them like a real caller reads a certificate's URI SAN.
    private readonly string _typicalId = "spiffe://k8s-west.example.com/ns/staging/sa/orders";
    private readonly string _invalidId = "spiffe://k8s-west.example.com/ns/staging/sa/../admin";

    private SpiffeId _peer;
    private SpiffeIdAuthorizer _exact = null!;
    private SpiffeIdAuthorizer _prefix = null!;
    private SpiffeIdAuthorizer _oneOf100 = null!;

    [GlobalSetup]
    public void Setup()
    {
        _peer = SpiffeId.Parse(_typicalId);
        _exact = SpiffeIdAuthorizer.Exact(_peer);
        _prefix = SpiffeIdAuthorizer.Parse("spiffe://k8s-west.example.com/ns/staging/*");

        var ids = new List<SpiffeId>(100);
        for (int i = 0; i < 99; i++)
        {
            ids.Add(SpiffeId.Parse($"spiffe://k8s-west.example.com/ns/staging/sa/service-{i}"));
        }

        ids.Add(_peer);
        _oneOf100 = SpiffeIdAuthorizer.OneOf(ids);
    }

    [Benchmark(Baseline = true)]
    public SpiffeId ParseTypicalId() => SpiffeId.Parse(_typicalId);

    [Benchmark]
    public bool TryParseInvalidId() => SpiffeId.TryParse(_invalidId, out _, out _);

    [Benchmark]
    public bool AuthorizeExact() => _exact.IsAuthorized(_peer);

    [Benchmark]
    public bool AuthorizePrefix() => _prefix.IsAuthorized(_peer);

    [Benchmark]
    public bool AuthorizeOneOf100() => _oneOf100.IsAuthorized(_peer);
}
