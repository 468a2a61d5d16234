using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using SecureComms.Testing;

namespace SecureComms.Tests.WorkloadApi.Interop;

/// <summary>
/// A workload registered with one <c>AddSecureComms</c> line and <c>Certificate:Source = WorkloadApi</c>, taking its
/// identity from a Workload API server on a gRPC stack SecureComms did not write (<c>@grpc/grpc-js</c>): start-up,
/// pushed rotation, federated bundle, killed stream and agent restart, observed only through
/// <see cref="ICertificateSource"/> and <see cref="ITrustBundleSource"/> as the rest of the library observes them.
/// Every call the workload made carried the security header (the server counts the calls it rejected).
/// </summary>
[TestClass]
public sealed class NodeWorkloadApiSourceTests
{
    private static readonly TrustDomain ExampleOrg = TrustDomain.Parse("example.org");
    private static readonly TrustDomain PartnerTest = TrustDomain.Parse("partner.test");
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    [TestMethod]
    public async Task WorkloadStartedBeforeTheAgent_StartsWithTheSvidOnceTheAgentListens()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg);
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        await server.StopListeningAsync();
        await using ServiceProvider services = Workload(server);

        Task started = StartAsync(services);
        WorkloadCertificate svid = ca.IssueSvid(Orders);
        await server.SetSvidAsync(svid, [ca.Certificate]);
        await server.StartListeningAsync();
        await Eventually.CompletesAsync(started, "start-up completes once the agent serves an SVID");

        Assert.AreEqual(svid.Sha256Thumbprint, services.GetRequiredService<ICertificateSource>().Current.Sha256Thumbprint);
        Assert.IsTrue(services.GetRequiredService<ITrustBundleSource>().Current.TryGetBundle(ExampleOrg, out TrustBundle? own), "the own trust domain's bundle came with the SVID");
        Assert.AreEqual(ca.Certificate.Thumbprint, own.Authorities[0].Thumbprint);
        Assert.AreEqual(0, (await server.GetStatsAsync()).RejectedWithoutHeader, "every call carried workload.spiffe.io: true");
    }

    [TestMethod]
    public async Task PushedRotation_IsTheNewCurrentCertificate_AndFiresTheChangeToken()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg);
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        WorkloadCertificate first = ca.IssueSvid(Orders);
        await server.SetSvidAsync(first, [ca.Certificate]);
        await using ServiceProvider services = Workload(server);
        await StartAsync(services);
        ICertificateSource certificates = services.GetRequiredService<ICertificateSource>();
        Assert.AreEqual(first.Sha256Thumbprint, certificates.Current.Sha256Thumbprint);
        IChangeToken rotation = certificates.GetChangeToken();

        WorkloadCertificate rotated = ca.IssueSvid(Orders);
        Assert.AreEqual(1, await server.SetSvidAsync(rotated, [ca.Certificate]), "pushed on the workload's open stream");

        await Eventually.FiresAsync(rotation, "the pushed SVID is a rotation");
        Assert.AreEqual(rotated.Sha256Thumbprint, certificates.Current.Sha256Thumbprint);
        Assert.AreEqual(0, (await server.GetStatsAsync()).RejectedWithoutHeader);
    }

    [TestMethod]
    public async Task FederatedBundleAdded_IsTrustedThroughTheTrustBundleSource_WithoutARotation()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg);
        using var partner = DevelopmentCertificateAuthority.Create(PartnerTest);
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        await server.SetSvidAsync(ca.IssueSvid(Orders), [ca.Certificate]);
        await using ServiceProvider services = Workload(server);
        await StartAsync(services);
        ITrustBundleSource bundles = services.GetRequiredService<ITrustBundleSource>();
        Assert.IsFalse(bundles.Current.TryGetBundle(PartnerTest, out _), "partner.test is not trusted before its bundle arrives");
        IChangeToken bundleChange = bundles.GetChangeToken();
        IChangeToken rotation = services.GetRequiredService<ICertificateSource>().GetChangeToken();

        await server.AddFederatedBundleAsync("spiffe://partner.test", [partner.Certificate]);

        await Eventually.FiresAsync(bundleChange, "the federated bundle is a trust bundle change");
        Assert.IsTrue(bundles.Current.TryGetBundle(PartnerTest, out TrustBundle? federated), "keyed spiffe://partner.test by the server");
        Assert.AreEqual(partner.Certificate.Thumbprint, federated.Authorities[0].Thumbprint);
        Assert.IsTrue(bundles.Current.TryGetBundle(ExampleOrg, out _), "the own trust domain stays");
        Assert.IsFalse(rotation.HasChanged, "the same SVID pushed again with a new bundle is not a rotation");
    }

    [TestMethod]
    public async Task KilledStream_IsReopened_AndTheNextPushIsApplied()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg);
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        WorkloadCertificate first = ca.IssueSvid(Orders);
        await server.SetSvidAsync(first, [ca.Certificate]);
        await using ServiceProvider services = Workload(server);
        await StartAsync(services);
        ICertificateSource certificates = services.GetRequiredService<ICertificateSource>();

        Assert.AreEqual(1, await server.KillStreamsAsync(), "the workload's stream ended with UNAVAILABLE");
        await Eventually.WaitUntilAsync(
            async () => await server.GetStatsAsync() is { X509SvidCalls: >= 2, OpenX509SvidStreams: 1 },
            "the workload opens a new FetchX509SVID stream");
        Assert.AreEqual(first.Sha256Thumbprint, certificates.Current.Sha256Thumbprint, "the current SVID is kept across the break");

        IChangeToken rotation = certificates.GetChangeToken();
        WorkloadCertificate rotated = ca.IssueSvid(Orders);
        Assert.AreEqual(1, await server.SetSvidAsync(rotated, [ca.Certificate]));
        await Eventually.FiresAsync(rotation, "the push on the reopened stream is a rotation");
        Assert.AreEqual(rotated.Sha256Thumbprint, certificates.Current.Sha256Thumbprint);
        Assert.AreEqual(0, (await server.GetStatsAsync()).RejectedWithoutHeader);
    }

    [TestMethod]
    public async Task AgentRestart_KeepsTheCurrentSvid_ThenTheSvidIssuedMeanwhileArrivesOnTheSameSocket()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg);
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        WorkloadCertificate first = ca.IssueSvid(Orders);
        await server.SetSvidAsync(first, [ca.Certificate]);
        await using ServiceProvider services = Workload(server);
        await StartAsync(services);
        ICertificateSource certificates = services.GetRequiredService<ICertificateSource>();
        WorkloadApiX509Source source = services.GetRequiredService<WorkloadApiX509Source>();
        IChangeToken rotation = certificates.GetChangeToken();

        await server.StopListeningAsync();
        await Eventually.WaitUntilAsync(() => !source.Status.Connected, "the workload notices the agent is gone");
        Assert.AreEqual(first.Sha256Thumbprint, certificates.Current.Sha256Thumbprint, "the current SVID is served while the agent is down");

        WorkloadCertificate issuedMeanwhile = ca.IssueSvid(Orders);
        await server.SetSvidAsync(issuedMeanwhile, [ca.Certificate]);
        await server.StartListeningAsync();

        await Eventually.FiresAsync(rotation, "the SVID issued while the agent was down arrives after the reconnection");
        Assert.AreEqual(issuedMeanwhile.Sha256Thumbprint, certificates.Current.Sha256Thumbprint);
        Assert.IsTrue(source.Status.Connected);
    }

    [TestMethod]
    [DataRow("a key that belongs to another certificate", DisplayName = "key of another SVID")]
    [DataRow("bytes that are not DER", DisplayName = "not DER")]
    [DataRow("an SVID from another CA of the same trust domain name", DisplayName = "SVID that does not chain to the bundle")]
    public async Task MalformedPush_IsIgnored_TheLastGoodSvidStays_AndTheNextGoodPushIsApplied(string defect)
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(ExampleOrg);
        using var rogue = DevelopmentCertificateAuthority.Create(ExampleOrg);
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        WorkloadCertificate first = ca.IssueSvid(Orders);
        await server.SetSvidAsync(first, [ca.Certificate]);
        var logs = new FakeLogCollector();
        await using ServiceProvider services = Workload(server, logs);
        await StartAsync(services);
        ICertificateSource certificates = services.GetRequiredService<ICertificateSource>();
        IChangeToken rotation = certificates.GetChangeToken();

        WorkloadCertificate other = ca.IssueSvid(Orders);
        byte[] bundle = NodeWorkloadApiServer.Der([ca.Certificate]);
        await (defect switch
        {
            "a key that belongs to another certificate" => server.SetRawSvidAsync(Orders.ToString(), NodeWorkloadApiServer.Der([ca.IssueSvid(Orders).Certificate]), NodeWorkloadApiServer.Pkcs8(other.Certificate), bundle),
            "bytes that are not DER" => server.SetRawSvidAsync(Orders.ToString(), [0x30, 0x82, 0x01, 0x00, 0x02], NodeWorkloadApiServer.Pkcs8(other.Certificate), bundle),
            _ => server.SetSvidAsync(rogue.IssueSvid(Orders), [ca.Certificate]),
        });

        await Eventually.WaitUntilAsync(() => logs.CountOf(1804) == 1, $"the update with {defect} is refused (event 1804)");
        Assert.IsFalse(rotation.HasChanged, $"{defect}: no rotation");
        Assert.AreEqual(first.Sha256Thumbprint, certificates.Current.Sha256Thumbprint, $"{defect}: the last good SVID stays");

        await server.SetSvidAsync(other, [ca.Certificate]);
        await Eventually.FiresAsync(rotation, "the next good push on the same stream is a rotation");
        Assert.AreEqual(other.Sha256Thumbprint, certificates.Current.Sha256Thumbprint);
    }

    [TestMethod]
    public async Task UnregisteredWorkload_FailsStartUp_NamingPermissionDenied()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        await server.DenyAsync();
        await using ServiceProvider services = Workload(server);

        InvalidOperationException failure = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => StartAsync(services));
        Assert.Contains("PermissionDenied", failure.Message);
        Assert.Contains(server.Address, failure.Message, "the message names the socket");
    }

    private static ServiceProvider Workload(NodeWorkloadApiServer server, FakeLogCollector? logs = null)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Certificate:Source"] = "WorkloadApi",
            ["SecureComms:WorkloadApi:Socket"] = server.Address,
            ["SecureComms:WorkloadApi:ReconnectDelay"] = "00:00:00.100",
            ["SecureComms:WorkloadApi:MaxReconnectDelay"] = "00:00:00.500",
        }).Build();
        var services = new ServiceCollection();
        if (logs is not null)
        {
            services.AddSingleton<ILoggerFactory>(FakeLogs.LoggerFactory(logs));
        }

        return services.AddSecureCommsCore(configuration).Services.BuildServiceProvider();
    }

    private static async Task StartAsync(ServiceProvider services)
    {
        foreach (IHostedService hosted in services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }
}
