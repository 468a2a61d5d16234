using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureComms.Testing;

namespace SecureComms.Tests.WorkloadApi;

/// <summary>The shared pieces of the Workload API tests: one authority, short socket paths, a source over a connection.</summary>
internal static class WorkloadApiTestBed
{
    public static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");
    private static readonly Lazy<DevelopmentCertificateAuthority> Root = new(() => DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org")));
    private static readonly Lazy<DevelopmentCertificateAuthority> Partner = new(() => DevelopmentCertificateAuthority.Create(TrustDomain.Parse("partner.test")));

    public static DevelopmentCertificateAuthority Authority => Root.Value;

    public static DevelopmentCertificateAuthority PartnerAuthority => Partner.Value;

    /// <summary>A fresh Unix socket path short enough for sockaddr_un (&lt;108 bytes).</summary>
    public static string NewSocketPath() => Path.Combine(Path.GetTempPath(), "sc-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + ".sock");

    /// <summary>Reconnects quickly, so that tests on the real clock do not wait long.</summary>
    public static WorkloadApiOptions FastOptions(string? hint = null) => new()
    {
        StartupTimeout = TimeSpan.FromSeconds(20),
        ReconnectDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        Hint = hint,
    };

    /// <summary>The certificate's private key as the agent sends it (<c>x509_svid_key</c>: PKCS#8 DER).</summary>
    public static byte[] Pkcs8(X509Certificate2 certificate)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()!;
        return key.ExportPkcs8PrivateKey();
    }

    public static Task<DevelopmentWorkloadApiServer> StartServerAsync(string? socketPath = null) =>
        DevelopmentWorkloadApiServer.StartAsync(new DevelopmentWorkloadApiServerOptions
        {
            Authority = Authority,
            SpiffeId = Orders,
            SocketPath = socketPath,
        });
}

/// <summary>A <see cref="WorkloadApiX509Source"/> with its connection, disposed together.</summary>
internal sealed class SourceUnderTest : IAsyncDisposable
{
    private readonly WorkloadApiConnection _connection;

    public SourceUnderTest(string address, WorkloadApiOptions? options = null, TimeProvider? timeProvider = null)
    {
        _connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(address));
        Logger = new FakeLogger();
        Source = new WorkloadApiX509Source(_connection, options ?? WorkloadApiTestBed.FastOptions(), address, timeProvider ?? TimeProvider.System, Logger);
    }

    public FakeLogger Logger { get; }

    public WorkloadApiX509Source Source { get; }

    public ICertificateSource Certificates => Source;

    public ITrustBundleSource Bundles => Source;

    public HealthCheckResult Health(TimeProvider? timeProvider = null) =>
        new WorkloadApiHealthCheck(Source, timeProvider ?? TimeProvider.System).Check();

    public async ValueTask DisposeAsync()
    {
        await Source.DisposeAsync();
        _connection.Dispose();
    }
}
