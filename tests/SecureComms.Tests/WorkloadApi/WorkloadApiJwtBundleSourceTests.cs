using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using SecureComms.Testing;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms.Tests.WorkloadApi;

/// <summary>
/// The JWT bundles streamed by <c>FetchJWTBundles</c>: keys by trust domain, rotations applied as pushed, the stream
/// reopened after the agent restarts, and a malformed push ignored with the last good bundles kept.
/// </summary>
[TestClass]
public sealed class WorkloadApiJwtBundleSourceTests
{
    private static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    private static readonly TrustDomain Partner = TrustDomain.Parse("partner.test");
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task FirstBundle_HoldsTheTrustDomainsKeys_ByKid()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);

        Assert.IsTrue(await bed.Source.WaitForBundlesAsync(Eventually.Deadline, TestContext.CancellationToken));

        Assert.AreSequenceEqual(bed.Keys.KeyIds, bed.Source.GetKeys(Domain).Select(k => k.KeyId).ToArray());
        Assert.IsEmpty(bed.Source.GetKeys(Partner), "no bundle, no keys");
    }

    [TestMethod]
    public async Task RotatedKey_IsAppliedWhenPushed()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);
        await bed.Source.WaitForBundlesAsync(Eventually.Deadline, TestContext.CancellationToken);

        string kid = await bed.Keys.RotateAsync(TestContext.CancellationToken);

        await Eventually.WaitUntilAsync(() => bed.Source.GetKeys(Domain).Any(k => k.KeyId == kid), "the new key was applied");
    }

    [TestMethod]
    public async Task AgentRestarted_TheStreamIsOpenedAgain_AndLaterPushesArrive()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);
        await bed.Source.WaitForBundlesAsync(Eventually.Deadline, TestContext.CancellationToken);
        int before = bed.Source.Updates;

        await bed.Server.RestartAsync(TestContext.CancellationToken);
        await Eventually.WaitUntilAsync(() => bed.Source.Updates > before, "the reopened stream delivered the bundles again");
        string kid = await bed.Keys.RotateAsync(TestContext.CancellationToken);

        await Eventually.WaitUntilAsync(() => bed.Source.GetKeys(Domain).Any(k => k.KeyId == kid), "a push after the restart was applied");
        Assert.IsTrue(bed.Logs.Contains(1837, "reconnecting"), "a warning says the stream was lost");
    }

    [TestMethod]
    public async Task StreamBroken_KeepsTheCurrentKeysMeanwhile()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);
        await bed.Source.WaitForBundlesAsync(Eventually.Deadline, TestContext.CancellationToken);

        await bed.Server.StopAsync();
        await Eventually.WaitUntilAsync(() => bed.Logs.Contains(1837, "keeping the current bundles"), "the source noticed the lost stream");

        Assert.HasCount(1, bed.Source.GetKeys(Domain));
    }

    [TestMethod]
    public async Task Dispose_AfterBundlesArrived_LogsNoWarning()
    {
        // Dispose cancels the open call, which gRPC ends with RpcException(Cancelled): stopping, not a lost stream.
        await using Bed bed = await Bed.StartAsync(TestContext);
        await bed.Source.WaitForBundlesAsync(Eventually.Deadline, TestContext.CancellationToken);
        await Eventually.WaitUntilAsync(() => bed.Source.Status.Connected, "the stream is up");

        bed.Source.Dispose();

        Assert.AreEqual(TaskStatus.RanToCompletion, bed.Source.Loop!.Status, "the loop ended as stopped, not with the cancelled call's RpcException");
        Assert.IsEmpty(bed.Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Warning).Select(r => $"{r.Id.Id}: {r.Message}").ToArray());
    }

    [TestMethod]
    public async Task Status_IsConnected_OnceBundlesArrived_AndKeepsTheOutageStart_WhileDisconnected()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);
        await bed.Source.WaitForBundlesAsync(Eventually.Deadline, TestContext.CancellationToken);
        await Eventually.WaitUntilAsync(() => bed.Source.Status.Connected, "the stream is up");
        Assert.IsNull(bed.Source.Status.DisconnectedSince);

        await bed.Server.StopAsync();
        await Eventually.WaitUntilAsync(() => !bed.Source.Status.Connected, "the source noticed the lost stream");
        DateTimeOffset? since = bed.Source.Status.DisconnectedSince;
        await Eventually.WaitUntilAsync(() => bed.Logs.CountOf(1837) >= 2, "a reconnection attempt failed too");

        Assert.IsNotNull(since);
        Assert.AreEqual(since, bed.Source.Status.DisconnectedSince, "the outage began at the first failure");
        Assert.IsFalse(bed.Source.Status.PermissionDenied);
    }

    public static IEnumerable<object[]> MalformedPushes()
    {
        yield return ["no bundle at all", new JWTBundlesResponse()];
        yield return ["not JSON", Response(("spiffe://example.org", "{not json"))];
        yield return ["a key that is not a trust domain", Response(("spiffe://Example..org", """{"keys":[]}"""))];
    }

    [TestMethod]
    [DynamicData(nameof(MalformedPushes))]
    public async Task MalformedPush_IsIgnored_AndTheLastGoodBundlesKept(string push, object response)
    {
        await using Bed bed = await Bed.StartAsync(TestContext);
        await bed.Source.WaitForBundlesAsync(Eventually.Deadline, TestContext.CancellationToken);
        int before = bed.Source.Updates;

        bed.Source.Apply((JWTBundlesResponse)response);

        Assert.AreEqual(before, bed.Source.Updates, push);
        Assert.AreSequenceEqual(bed.Keys.KeyIds, bed.Source.GetKeys(Domain).Select(k => k.KeyId).ToArray(), push);
        Assert.IsTrue(bed.Logs.Contains(1836, "keeps the last good bundles"), push);
    }

    [TestMethod]
    public async Task Push_KeepsOnlyPublicJwtSvidKeys_OfEachTrustDomain()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);
        await bed.Source.WaitForBundlesAsync(Eventually.Deadline, TestContext.CancellationToken);
        using var ours = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var theirs = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsa = RSA.Create(2048);
        string symmetric = """{"kty":"oct","kid":"shared","k":"c2VjcmV0","use":"jwt-svid"}""";
        string x509 = Jwk(ECDsa.Create(), "x509-key", "x509-svid");
        string noKid = Jwk(ECDsa.Create(), kid: null, "jwt-svid");
        string withPrivate = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "private" }) is { } jwk
            ? System.Text.Json.JsonSerializer.Serialize(new { kty = jwk.Kty, crv = jwk.Crv, x = jwk.X, y = jwk.Y, d = jwk.D, kid = "private" })
            : throw new InvalidOperationException();
        string rsaKey = System.Text.Json.JsonSerializer.Serialize(new { kty = "RSA", kid = "rsa", use = "jwt-svid", n = Base64UrlEncoder.Encode(rsa.ExportParameters(false).Modulus), e = Base64UrlEncoder.Encode(rsa.ExportParameters(false).Exponent) });

        bed.Source.Apply(Response(
            ("spiffe://example.org", $$"""{"keys":[{{Jwk(ours, "ours", "jwt-svid")}},{{symmetric}},{{x509}},{{noKid}},{{withPrivate}},{{rsaKey}}]}"""),
            ("partner.test", $$"""{"keys":[{{Jwk(theirs, "theirs", "jwt-svid")}}]}""")));

        Assert.AreSequenceEqual(new[] { "ours", "rsa" }, bed.Source.GetKeys(Domain).Select(k => k.KeyId).ToArray());
        Assert.AreSequenceEqual(new[] { "theirs" }, bed.Source.GetKeys(Partner).Select(k => k.KeyId).ToArray(), "the bare trust domain name is accepted as a key");
    }

    private static JWTBundlesResponse Response(params (string TrustDomain, string Jwks)[] bundles)
    {
        var response = new JWTBundlesResponse();
        foreach ((string trustDomain, string jwks) in bundles)
        {
            response.Bundles[trustDomain] = ByteString.CopyFrom(Encoding.UTF8.GetBytes(jwks));
        }

        return response;
    }

    private static string Jwk(ECDsa key, string? kid, string use)
    {
        ECParameters p = key.ExportParameters(false);
        return System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string?>
        {
            ["kty"] = "EC",
            ["crv"] = "P-256",
            ["x"] = Base64UrlEncoder.Encode(p.Q.X),
            ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
            ["kid"] = kid,
            ["use"] = use,
        }.Where(pair => pair.Value is not null).ToDictionary());
    }

    private sealed class Bed : IAsyncDisposable
    {
        private readonly DevelopmentCertificateAuthority _ca;
        private readonly WorkloadApiConnection _connection;

        private Bed(DevelopmentCertificateAuthority ca, DevelopmentJwtSigningKeys keys, DevelopmentWorkloadApiServer server, WorkloadApiConnection connection, WorkloadApiJwtBundleSource source, FakeLogCollector logs)
        {
            _ca = ca;
            Keys = keys;
            Server = server;
            _connection = connection;
            Source = source;
            Logs = logs;
        }

        public DevelopmentJwtSigningKeys Keys { get; }

        public DevelopmentWorkloadApiServer Server { get; }

        public WorkloadApiJwtBundleSource Source { get; }

        public FakeLogCollector Logs { get; }

        public static async Task<Bed> StartAsync(TestContext context)
        {
            var ca = DevelopmentCertificateAuthority.Create(Domain);
            var keys = new DevelopmentJwtSigningKeys();
            DevelopmentWorkloadApiServer server = await DevelopmentWorkloadApiServer.StartAsync(
                new DevelopmentWorkloadApiServerOptions { Authority = ca, SpiffeId = Orders, JwtSigningKeys = keys },
                context.CancellationToken);
            var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.Socket));
            var logs = new FakeLogCollector();
            var source = new WorkloadApiJwtBundleSource(
                connection,
                new WorkloadApiOptions { ReconnectDelay = TimeSpan.FromMilliseconds(50), MaxReconnectDelay = TimeSpan.FromMilliseconds(200) },
                TimeProvider.System,
                new FakeLogger(logs));
            source.Start();
            return new Bed(ca, keys, server, connection, source, logs);
        }

        public async ValueTask DisposeAsync()
        {
            Source.Dispose();
            _connection.Dispose();
            await Server.DisposeAsync();
            Keys.Dispose();
            _ca.Dispose();
        }
    }
}
