using System.Net;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using SecureComms.Testing;

namespace SecureComms.Benchmarks.Server;

/// <summary>
/// A request behind a trusted TLS-terminating proxy (nginx's escaped PEM header): what every such request cost before
/// verdicts were kept (parse the forwarded certificate, build its chain), against a request whose forwarded certificate
/// was seen before (one hash of the header and a dictionary lookup).
/// </summary>
[MemoryDiagnoser]
public class ForwardedCertificateBenchmarks
{
    private DevelopmentCertificateAuthority _ca = null!;
    private InMemoryTrustBundleSource _bundles = null!;
    private PeerCertificateValidator _validator = null!;
    private ForwardedCertificateAuthenticator _authenticator = null!;
    private DefaultHttpContext _context = null!;
    private string _header = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        _bundles = new InMemoryTrustBundleSource(_ca.CreateTrustBundle());
        _validator = new PeerCertificateValidator(_bundles, TimeProvider.System);
        var options = new ForwardedCertificateOptions { Format = ForwardedCertificateHeaderFormat.NginxEscapedPem };
        options.TrustedProxies.Add("127.0.0.1");
        _authenticator = new ForwardedCertificateAuthenticator(options, _validator, _bundles, TimeProvider.System, NullLogger.Instance);
        _header = Uri.EscapeDataString(_ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/orders")).Certificate.ExportCertificatePem());
        _context = new DefaultHttpContext();
        _context.Connection.RemoteIpAddress = IPAddress.Loopback;
        _context.Request.Headers[options.EffectiveHeaderName] = _header;
        if (!SeenBefore().IsValid)
        {
            throw new InvalidOperationException("The forwarded certificate does not validate.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bundles.Dispose();
        _ca.Dispose();
    }

    [Benchmark(Baseline = true)]
    public SvidValidationResult ParsedAndValidatedEveryTime()
    {
        ForwardedCertificateResult forwarded = ForwardedCertificateParser.Parse(ForwardedCertificateFormat.NginxEscapedPem, _header);
        return _validator.Validate(forwarded.Certificate, forwarded.Chain, PeerSide.Client);
    }

    [Benchmark]
    public SvidValidationResult SeenBefore()
    {
        X509Certificate2? certificate = null;
        SvidValidationResult? result = null;
        _authenticator.Apply(_context, ref certificate, ref result);
        return result!;
    }
}
