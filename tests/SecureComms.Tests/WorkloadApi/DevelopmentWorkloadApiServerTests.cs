using System.Formats.Asn1;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureComms.Testing;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms.Tests.WorkloadApi;

/// <summary>
/// The development Workload API server answers a real gRPC client (the core's generated client over the Unix socket)
/// as a SPIRE agent would: first response, pushes, the security header, denial, broken streams and restarts, JWT-SVIDs.
/// </summary>
[TestClass]
public sealed class DevelopmentWorkloadApiServerTests
{
    private static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/ns/prod/sa/orders");

    public TestContext TestContext { get; set; } = null!;

    private CancellationToken Timeout => CancellationTokenSource.CreateLinkedTokenSource(TestContext.CancellationToken, new CancellationTokenSource(Eventually.Deadline).Token).Token;

    [TestMethod]
    public async Task FirstResponse_CarriesTheSvidChainItsKeyAndTheOwnBundle()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca, hint: "internal");
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(Timeout);

        X509SVIDResponse response = await NextAsync(call);

        X509SVID svid = response.Svids.Single();
        Assert.AreEqual(Orders.ToString(), svid.SpiffeId);
        Assert.AreEqual("internal", svid.Hint);
        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(SplitDer(svid.X509Svid)[0]);
        Assert.AreEqual(server.CurrentCertificate.Thumbprint, leaf.Thumbprint);
        using var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(svid.X509SvidKey.Span, out _);
        using X509Certificate2 withKey = leaf.CopyWithPrivateKey(key); // throws when the key does not match
        Assert.IsTrue(withKey.HasPrivateKey);
        Assert.AreSequenceEqual(new[] { ca.Certificate.RawData }, SplitDer(svid.Bundle), new ByteArrayComparer());
        Assert.AreEqual(0, response.FederatedBundles.Count);
        Assert.AreEqual(1, server.ConnectedX509Streams);
    }

    [TestMethod]
    public async Task IntermediateAuthority_SendsTheLeafThenItsIntermediates_AndTheRootAsBundle()
    {
        using var root = DevelopmentCertificateAuthority.Create(Domain);
        using DevelopmentCertificateAuthority intermediate = root.CreateIntermediate();
        await using DevelopmentWorkloadApiServer server = await StartAsync(intermediate);
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(Timeout);

        X509SVID svid = (await NextAsync(call)).Svids.Single();

        List<byte[]> chain = SplitDer(svid.X509Svid);
        Assert.HasCount(2, chain);
        CollectionAssert.AreEqual(intermediate.Certificate.RawData, chain[1]);
        Assert.AreSequenceEqual(new[] { root.Certificate.RawData }, SplitDer(svid.Bundle), new ByteArrayComparer());
    }

    [TestMethod]
    public async Task Rotation_IsPushedOnTheOpenStream()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(Timeout);
        string first = LeafThumbprint(await NextAsync(call));

        X509Certificate2 rotated = await server.RotateAsync(TestContext.CancellationToken);
        string second = LeafThumbprint(await NextAsync(call));

        Assert.AreNotEqual(first, second);
        Assert.AreEqual(rotated.Thumbprint, second);
        Assert.AreEqual(rotated.Thumbprint, server.CurrentCertificate.Thumbprint);
    }

    [TestMethod]
    public async Task RotateEvery_IssuesAndPushesOnTheServersClock()
    {
        var clock = new FakeTimeProvider();
        using var ca = DevelopmentCertificateAuthority.Create(Domain, clock);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca, clock: clock, rotateEvery: TimeSpan.FromMinutes(1));
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(Timeout);
        string first = LeafThumbprint(await NextAsync(call));

        clock.Advance(TimeSpan.FromMinutes(1));
        string second = LeafThumbprint(await NextAsync(call));

        Assert.AreNotEqual(first, second);
    }

    [TestMethod]
    public async Task FederatedBundle_IsPushedOnBothX509Streams_KeyedByTheTrustDomainId()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        using var partner = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("partner.test"));
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<X509SVIDResponse> svids = connection.FetchX509Svid(Timeout);
        using AsyncServerStreamingCall<X509BundlesResponse> bundles = connection.FetchX509Bundles(Timeout);
        X509BundlesResponse firstBundles = await NextAsync(bundles);
        Assert.AreSequenceEqual(new[] { "spiffe://example.org" }, firstBundles.Bundles.Keys);
        Assert.AreEqual(0, (await NextAsync(svids)).FederatedBundles.Count);

        await server.AddFederatedBundleAsync(partner.TrustDomain, [partner.Certificate], TestContext.CancellationToken);

        X509SVIDResponse pushed = await NextAsync(svids);
        CollectionAssert.AreEqual(partner.Certificate.RawData, pushed.FederatedBundles["spiffe://partner.test"].ToByteArray());
        X509BundlesResponse pushedBundles = await NextAsync(bundles);
        Assert.AreSequenceEqual(new[] { "spiffe://example.org", "spiffe://partner.test" }, pushedBundles.Bundles.Keys, SequenceOrder.InAnyOrder);
        CollectionAssert.AreEqual(ca.Certificate.RawData, pushedBundles.Bundles["spiffe://example.org"].ToByteArray());
    }

    [TestMethod]
    public async Task RawPush_ReachesTheClientByteForByte()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(Timeout);
        await NextAsync(call);
        byte[] garbage = [0x30, 0x03, 0x01, 0x02];

        await server.PushRawX509Async(garbage, [0x01], "spiffe://example.org/whoever", TestContext.CancellationToken);

        X509SVID svid = (await NextAsync(call)).Svids.Single();
        CollectionAssert.AreEqual(garbage, svid.X509Svid.ToByteArray());
        CollectionAssert.AreEqual(new byte[] { 0x01 }, svid.X509SvidKey.ToByteArray());
        Assert.AreEqual("spiffe://example.org/whoever", svid.SpiffeId);
    }

    [TestMethod]
    [DataRow("FetchX509SVID")]
    [DataRow("FetchX509Bundles")]
    [DataRow("FetchJWTBundles")]
    [DataRow("FetchJWTSVID")]
    public async Task CallWithoutTheSecurityHeader_IsRejectedWithInvalidArgument(string method)
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        using GrpcChannel channel = ChannelWithoutHeader(server.SocketPath);
        var client = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(channel);
        CancellationToken timeout = Timeout;

        RpcException error = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            switch (method)
            {
                case "FetchX509SVID":
                    using (AsyncServerStreamingCall<X509SVIDResponse> call = client.FetchX509SVID(new X509SVIDRequest(), cancellationToken: timeout))
                    {
                        await call.ResponseStream.MoveNext(timeout);
                    }

                    break;
                case "FetchX509Bundles":
                    using (AsyncServerStreamingCall<X509BundlesResponse> call = client.FetchX509Bundles(new X509BundlesRequest(), cancellationToken: timeout))
                    {
                        await call.ResponseStream.MoveNext(timeout);
                    }

                    break;
                case "FetchJWTBundles":
                    using (AsyncServerStreamingCall<JWTBundlesResponse> call = client.FetchJWTBundles(new JWTBundlesRequest(), cancellationToken: timeout))
                    {
                        await call.ResponseStream.MoveNext(timeout);
                    }

                    break;
                default:
                    await client.FetchJWTSVIDAsync(new JWTSVIDRequest { Audience = { "billing" } }, cancellationToken: timeout);
                    break;
            }
        });

        Assert.AreEqual(StatusCode.InvalidArgument, error.StatusCode);
        Assert.AreEqual(0, server.JwtSvidRequestCount);
    }

    [TestMethod]
    public async Task StartRefusalAndDenial_AreLoggedWithTheirEventIds()
    {
        var logs = new FakeLogCollector();
        using ILoggerFactory loggerFactory = FakeLogs.LoggerFactory(logs);
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await DevelopmentWorkloadApiServer.StartAsync(
            new DevelopmentWorkloadApiServerOptions { Authority = ca, SpiffeId = Orders, LoggerFactory = loggerFactory }, TestContext.CancellationToken);
        using GrpcChannel channel = ChannelWithoutHeader(server.SocketPath);
        await Assert.ThrowsExactlyAsync<RpcException>(async () => await new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(channel)
            .FetchJWTSVIDAsync(new JWTSVIDRequest { Audience = { "billing" } }, cancellationToken: Timeout));
        server.DenyAll = true;
        using WorkloadApiConnection connection = Connect(server);
        await Assert.ThrowsExactlyAsync<RpcException>(() => connection.FetchJwtSvidAsync(["billing"], null, Timeout));

        Assert.IsTrue(logs.Contains(1850, server.Socket), "started, naming the socket");
        Assert.IsTrue(logs.Contains(1856, "FetchJWTSVID"), "the call without the header");
        Assert.IsTrue(logs.Contains(1857, "FetchJWTSVID"), "the denied call");
    }

    [TestMethod]
    public async Task DenyAll_EndsOpenStreamsAndRefusesNewCallsWithPermissionDenied()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<X509SVIDResponse> open = connection.FetchX509Svid(Timeout);
        await NextAsync(open);

        server.DenyAll = true;

        RpcException ended = await Assert.ThrowsExactlyAsync<RpcException>(() => open.ResponseStream.MoveNext(Timeout));
        Assert.AreEqual(StatusCode.PermissionDenied, ended.StatusCode);
        using AsyncServerStreamingCall<X509SVIDResponse> again = connection.FetchX509Svid(Timeout);
        RpcException refused = await Assert.ThrowsExactlyAsync<RpcException>(() => again.ResponseStream.MoveNext(Timeout));
        Assert.AreEqual(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.AreEqual("no identity issued", refused.Status.Detail);
        RpcException jwt = await Assert.ThrowsExactlyAsync<RpcException>(() => connection.FetchJwtSvidAsync(["billing"], null, Timeout));
        Assert.AreEqual(StatusCode.PermissionDenied, jwt.StatusCode);
    }

    [TestMethod]
    public async Task BreakStreams_EndsThemWithUnavailable_AndANewStreamGetsTheCurrentSvid()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<X509SVIDResponse> svids = connection.FetchX509Svid(Timeout);
        using AsyncServerStreamingCall<JWTBundlesResponse> jwtBundles = connection.FetchJwtBundles(Timeout);
        string first = LeafThumbprint(await NextAsync(svids));
        await NextAsync(jwtBundles);

        server.BreakStreams();

        Assert.AreEqual(StatusCode.Unavailable, (await Assert.ThrowsExactlyAsync<RpcException>(() => svids.ResponseStream.MoveNext(Timeout))).StatusCode);
        Assert.AreEqual(StatusCode.Unavailable, (await Assert.ThrowsExactlyAsync<RpcException>(() => jwtBundles.ResponseStream.MoveNext(Timeout))).StatusCode);
        using AsyncServerStreamingCall<X509SVIDResponse> reconnected = connection.FetchX509Svid(Timeout);
        Assert.AreEqual(first, LeafThumbprint(await NextAsync(reconnected)));
    }

    [TestMethod]
    public async Task Restart_ListensAgainOnTheSameSocket_WithTheSameIdentity()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<X509SVIDResponse> before = connection.FetchX509Svid(Timeout);
        string first = LeafThumbprint(await NextAsync(before));

        await server.StopAsync();

        Assert.AreEqual(StatusCode.Unavailable, (await Assert.ThrowsExactlyAsync<RpcException>(() => before.ResponseStream.MoveNext(Timeout))).StatusCode);
        Assert.IsFalse(File.Exists(server.SocketPath), "the socket file is removed");
        using AsyncServerStreamingCall<X509SVIDResponse> whileStopped = connection.FetchX509Svid(Timeout);
        Assert.AreEqual(StatusCode.Unavailable, (await Assert.ThrowsExactlyAsync<RpcException>(() => whileStopped.ResponseStream.MoveNext(Timeout))).StatusCode);

        await server.RestartAsync(TestContext.CancellationToken);

        using AsyncServerStreamingCall<X509SVIDResponse> after = connection.FetchX509Svid(Timeout);
        X509SVIDResponse response = await NextAsync(after);
        Assert.AreEqual(first, LeafThumbprint(response));
        Assert.AreEqual(Orders.ToString(), response.Svids[0].SpiffeId);
    }

    [TestMethod]
    public async Task TcpPort_ServesTheSameApiOnLoopback()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await DevelopmentWorkloadApiServer.StartAsync(
            new DevelopmentWorkloadApiServerOptions { Authority = ca, SpiffeId = Orders, TcpPort = 0 }, TestContext.CancellationToken);
        Assert.IsNotNull(server.TcpAddress);
        StringAssert.StartsWith(server.TcpAddress, "tcp://127.0.0.1:");
        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.TcpAddress));
        using AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(Timeout);

        Assert.AreEqual(server.CurrentCertificate.Thumbprint, LeafThumbprint(await NextAsync(call)));
    }

    [TestMethod]
    public async Task JwtSvid_HasTheJwtSvidClaims_AndValidatesAgainstTheStreamedJwks()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca, hint: "internal");
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<JWTBundlesResponse> bundles = connection.FetchJwtBundles(Timeout);
        JWTBundlesResponse bundle = await NextAsync(bundles);

        JWTSVIDResponse response = await connection.FetchJwtSvidAsync(["billing", "audit"], null, Timeout);

        JWTSVID svid = response.Svids.Single();
        Assert.AreEqual(Orders.ToString(), svid.SpiffeId);
        Assert.AreEqual("internal", svid.Hint);
        TokenValidationResult result = await ValidateAsync(svid.Svid, bundle.Bundles["spiffe://example.org"].ToByteArray(), "billing");
        Assert.IsTrue(result.IsValid, result.Exception?.Message);
        var jwt = (JsonWebToken)result.SecurityToken;
        Assert.AreEqual(Orders.ToString(), jwt.Subject);
        Assert.AreSequenceEqual(new[] { "billing", "audit" }, jwt.Audiences);
        Assert.AreEqual("ES256", jwt.Alg);
        Assert.AreEqual("JWT", jwt.Typ);
        Assert.IsFalse(string.IsNullOrEmpty(jwt.Kid));
        Assert.AreEqual(TimeSpan.FromMinutes(5), jwt.ValidTo - jwt.IssuedAt);
        Assert.AreEqual(1, server.JwtSvidRequestCount);
    }

    [TestMethod]
    public async Task JwtBundle_KeysAreMarkedForJwtSvids()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        using WorkloadApiConnection connection = Connect(server);
        using AsyncServerStreamingCall<JWTBundlesResponse> bundles = connection.FetchJwtBundles(Timeout);

        using JsonDocument jwks = JsonDocument.Parse((await NextAsync(bundles)).Bundles["spiffe://example.org"].Memory);

        JsonElement key = jwks.RootElement.GetProperty("keys").EnumerateArray().Single();
        Assert.AreEqual("jwt-svid", key.GetProperty("use").GetString());
        Assert.AreEqual("EC", key.GetProperty("kty").GetString());
        Assert.IsFalse(key.TryGetProperty("d", out _), "no private part");
    }

    [TestMethod]
    [DataRow("no audience")]
    [DataRow("another SPIFFE ID")]
    public async Task JwtSvidRequest_TheServerCannotAnswer_IsRefused(string request)
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        using WorkloadApiConnection connection = Connect(server);

        RpcException error = await Assert.ThrowsExactlyAsync<RpcException>(() => request == "no audience"
            ? connection.FetchJwtSvidAsync([], null, Timeout)
            : connection.FetchJwtSvidAsync(["billing"], "spiffe://example.org/billing", Timeout));

        Assert.AreEqual(request == "no audience" ? StatusCode.InvalidArgument : StatusCode.PermissionDenied, error.StatusCode);
        Assert.AreEqual(0, server.JwtSvidRequestCount);
    }

    [TestMethod]
    public async Task ValidateJwtSvid_ReturnsTheSubjectAndClaims_OfATokenItIssued()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        using WorkloadApiConnection connection = Connect(server);
        string token = (await connection.FetchJwtSvidAsync(["billing"], null, Timeout)).Svids[0].Svid;
        using GrpcChannel channel = ChannelWithoutHeader(server.SocketPath);
        var client = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(channel);

        ValidateJWTSVIDResponse response = await client.ValidateJWTSVIDAsync(
            new ValidateJWTSVIDRequest { Audience = "billing", Svid = token }, SecurityHeader, cancellationToken: Timeout);

        Assert.AreEqual(Orders.ToString(), response.SpiffeId);
        Assert.AreEqual(Orders.ToString(), response.Claims.Fields["sub"].StringValue);
        Assert.AreEqual("billing", response.Claims.Fields["aud"].StringValue);
    }

    [TestMethod]
    [DataRow("another audience")]
    [DataRow("a key outside the bundle")]
    [DataRow("not a JWT")]
    public async Task ValidateJwtSvid_RefusesATokenThatIsNotForTheAudienceOrNotSignedByTheBundle(string attack)
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        await using DevelopmentWorkloadApiServer server = await StartAsync(ca);
        await using DevelopmentWorkloadApiServer other = await StartAsync(ca); // its own JWT keys
        using WorkloadApiConnection connection = Connect(attack == "a key outside the bundle" ? other : server);
        string token = attack == "not a JWT" ? "e30.e30.e30" : (await connection.FetchJwtSvidAsync(["billing"], null, Timeout)).Svids[0].Svid;
        using GrpcChannel channel = ChannelWithoutHeader(server.SocketPath);
        var client = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(channel);

        RpcException error = await Assert.ThrowsExactlyAsync<RpcException>(async () => await client.ValidateJWTSVIDAsync(
            new ValidateJWTSVIDRequest { Audience = attack == "another audience" ? "audit" : "billing", Svid = token }, SecurityHeader, cancellationToken: Timeout));

        Assert.AreEqual(StatusCode.InvalidArgument, error.StatusCode);
    }

    [TestMethod]
    public async Task JwtKeyRotation_PushesTheNewBundleToEveryServerSharingTheKeys()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);
        using var keys = new DevelopmentJwtSigningKeys();
        await using DevelopmentWorkloadApiServer orders = await StartAsync(ca, jwtKeys: keys);
        await using DevelopmentWorkloadApiServer billing = await DevelopmentWorkloadApiServer.StartAsync(
            new DevelopmentWorkloadApiServerOptions { Authority = ca, SpiffeId = SpiffeId.Parse("spiffe://example.org/billing"), JwtSigningKeys = keys }, TestContext.CancellationToken);
        using WorkloadApiConnection ordersConnection = Connect(orders);
        using WorkloadApiConnection billingConnection = Connect(billing);
        using AsyncServerStreamingCall<JWTBundlesResponse> billingBundles = billingConnection.FetchJwtBundles(Timeout);
        byte[] before = (await NextAsync(billingBundles)).Bundles["spiffe://example.org"].ToByteArray();
        string oldToken = (await ordersConnection.FetchJwtSvidAsync(["billing"], null, Timeout)).Svids[0].Svid;

        string newKid = await keys.RotateAsync(TestContext.CancellationToken);

        byte[] after = (await NextAsync(billingBundles)).Bundles["spiffe://example.org"].ToByteArray();
        string newToken = (await ordersConnection.FetchJwtSvidAsync(["billing"], null, Timeout)).Svids[0].Svid;
        Assert.AreEqual(newKid, new JsonWebToken(newToken).Kid);
        Assert.IsFalse((await ValidateAsync(newToken, before, "billing")).IsValid, "the old bundle lacks the new key");
        Assert.IsTrue((await ValidateAsync(newToken, after, "billing")).IsValid, "the pushed bundle has the new key");
        Assert.IsTrue((await ValidateAsync(oldToken, after, "billing")).IsValid, "the old key stays in the bundle");
    }

    [TestMethod]
    public async Task Options_OutsideTheAuthoritysTrustDomain_AreRefusedAtStart()
    {
        using var ca = DevelopmentCertificateAuthority.Create(Domain);

        ArgumentException error = await Assert.ThrowsExactlyAsync<ArgumentException>(() => DevelopmentWorkloadApiServer.StartAsync(
            new DevelopmentWorkloadApiServerOptions { Authority = ca, SpiffeId = SpiffeId.Parse("spiffe://partner.test/orders"), SvidLifetime = TimeSpan.Zero }));

        StringAssert.Contains(error.Message, "not in the authority's trust domain");
        StringAssert.Contains(error.Message, "SvidLifetime");
    }

    private static Metadata SecurityHeader => new() { { "workload.spiffe.io", "true" } };

    private Task<DevelopmentWorkloadApiServer> StartAsync(
        DevelopmentCertificateAuthority ca,
        string? hint = null,
        TimeProvider? clock = null,
        TimeSpan? rotateEvery = null,
        DevelopmentJwtSigningKeys? jwtKeys = null) =>
        DevelopmentWorkloadApiServer.StartAsync(
            new DevelopmentWorkloadApiServerOptions
            {
                Authority = ca,
                SpiffeId = Orders,
                Hint = hint,
                TimeProvider = clock,
                RotateEvery = rotateEvery,
                JwtSigningKeys = jwtKeys,
            },
            TestContext.CancellationToken);

    private static WorkloadApiConnection Connect(DevelopmentWorkloadApiServer server) => new(WorkloadApiEndpoint.Parse(server.Socket));

    private async Task<T> NextAsync<T>(AsyncServerStreamingCall<T> call)
    {
        Assert.IsTrue(await call.ResponseStream.MoveNext(Timeout), "the stream ended");
        return call.ResponseStream.Current;
    }

    private static string LeafThumbprint(X509SVIDResponse response)
    {
        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(SplitDer(response.Svids[0].X509Svid)[0]);
        return leaf.Thumbprint;
    }

    // The DER fields are certificates concatenated: walk them one TLV at a time.
    private static List<byte[]> SplitDer(Google.Protobuf.ByteString der)
    {
        var parts = new List<byte[]>();
        ReadOnlySpan<byte> rest = der.Span;
        while (!rest.IsEmpty)
        {
            AsnDecoder.ReadEncodedValue(rest, AsnEncodingRules.DER, out _, out _, out int consumed);
            parts.Add(rest[..consumed].ToArray());
            rest = rest[consumed..];
        }

        return parts;
    }

    private static Task<TokenValidationResult> ValidateAsync(string token, byte[] jwks, string audience)
    {
        // The SPIFFE bundle marks keys "use": "jwt-svid", which JsonWebKeySet.GetSigningKeys() skips: take them all.
        var set = new JsonWebKeySet(System.Text.Encoding.UTF8.GetString(jwks));
        return new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKeys = set.Keys,
            ValidAudience = audience,
            ValidateIssuer = false,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
        });
    }

    private static GrpcChannel ChannelWithoutHeader(string socketPath) =>
        GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, cancellationToken) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            },
            DisposeHttpClient = true,
        });

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length;
    }
}
