using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Primitives;
using SecureComms.Testing;

namespace SecureComms.Benchmarks.Validation;

/// <summary>
/// The per-connection "cold" cost of validating a peer X.509-SVID that arrives with one intermediate: leaf rules,
/// validity, and an X509Chain build against the trust-domain bundle (no caching of any kind).
/// </summary>
[MemoryDiagnoser]
public class PeerCertificateValidatorBenchmarks
{
    private DevelopmentCertificateAuthority _root = null!;
    private DevelopmentCertificateAuthority _intermediate = null!;
    private WorkloadCertificate _svid = null!;
    private PeerCertificateValidator _validator = null!;

    [GlobalSetup]
    public void Setup()
    {
        TrustDomain domain = TrustDomain.Parse("example.org");
        _root = DevelopmentCertificateAuthority.Create(domain);
        _intermediate = _root.CreateIntermediate();
        _svid = _intermediate.IssueSvid(SpiffeId.Parse("spiffe://example.org/ns/prod/sa/orders"));
        _validator = new PeerCertificateValidator(new FixedBundles(new TrustBundleSet([_root.CreateTrustBundle()])), TimeProvider.System);
        if (!_validator.Validate(_svid.Certificate, _svid.Intermediates, PeerSide.Client).IsValid)
        {
            throw new InvalidOperationException("The benchmark SVID does not validate.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _intermediate.Dispose();
        _root.Dispose();
    }

    [Benchmark]
    public SvidValidationResult ValidateSvidWithOneIntermediate() =>
        _validator.Validate(_svid.Certificate, _svid.Intermediates, PeerSide.Client);

    private sealed class FixedBundles(TrustBundleSet set) : ITrustBundleSource
    {
        public TrustBundleSet Current { get; } = set;

        public IChangeToken GetChangeToken() => new CancellationChangeToken(CancellationToken.None);
    }
}
