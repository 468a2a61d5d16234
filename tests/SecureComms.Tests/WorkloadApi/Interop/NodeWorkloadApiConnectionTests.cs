using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using SecureComms.Testing;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms.Tests.WorkloadApi.Interop;

/// <summary>
/// The Workload API connection against a server on a gRPC stack SecureComms did not write (<c>@grpc/grpc-js</c>):
/// the security header is required and sent, responses and pushes decode, and a killed stream ends as an agent
/// restart does (UNAVAILABLE).
/// </summary>
[TestClass]
public sealed class NodeWorkloadApiConnectionTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    [TestMethod]
    public async Task CallWithoutTheSecurityHeader_IsRejectedWithInvalidArgument_AsSpireDoes()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        await server.SetSvidAsync(ca.IssueSvid(Orders), [ca.Certificate]);

        using GrpcChannel channel = RawChannel(server.SocketPath);
        var client = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(channel);
        using AsyncServerStreamingCall<X509SVIDResponse> call = client.FetchX509SVID(new X509SVIDRequest());

        RpcException rejected = await Assert.ThrowsExactlyAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.AreEqual(StatusCode.InvalidArgument, rejected.StatusCode);
        Assert.AreEqual(1, (await server.GetStatsAsync()).RejectedWithoutHeader, "the server counted the call without the header");
    }

    [TestMethod]
    public async Task ConnectionSendsTheSecurityHeader_AndReceivesTheSvidTheServerHolds()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using var intermediate = ca.CreateIntermediate();
        WorkloadCertificate svid = intermediate.IssueSvid(Orders);
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        await server.SetSvidAsync(svid, [ca.Certificate], hint: "internal");

        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.Address));
        using AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(CancellationToken.None);
        X509SVIDResponse response = await NextAsync(call);

        Assert.HasCount(1, response.Svids);
        X509SVID first = response.Svids[0];
        Assert.AreEqual(Orders.ToString(), first.SpiffeId);
        Assert.AreEqual("internal", first.Hint);
        CollectionAssert.AreEqual(
            (byte[])[.. svid.Certificate.RawData, .. svid.Intermediates[0].RawData],
            first.X509Svid.ToByteArray(),
            "x509_svid is the leaf then its intermediate, DER concatenated");
        CollectionAssert.AreEqual(ca.Certificate.RawData, first.Bundle.ToByteArray());
        using X509Certificate2 withKey = X509Certificate2.CreateFromPem(
            svid.Certificate.ExportCertificatePem(),
            "-----BEGIN PRIVATE KEY-----\n" + Convert.ToBase64String(first.X509SvidKey.ToByteArray()) + "\n-----END PRIVATE KEY-----");
        Assert.IsTrue(withKey.HasPrivateKey, "x509_svid_key is the SVID's own PKCS#8 key");
        Assert.AreEqual(0, (await server.GetStatsAsync()).RejectedWithoutHeader, "every call carried workload.spiffe.io: true");
    }

    [TestMethod]
    public async Task RotationAndFederatedBundle_ArePushedOnTheOpenStream()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using var partner = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("partner.test"));
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        await server.SetSvidAsync(ca.IssueSvid(Orders), [ca.Certificate]);

        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.Address));
        using AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(CancellationToken.None);
        X509SVIDResponse initial = await NextAsync(call);

        WorkloadCertificate rotated = ca.IssueSvid(Orders);
        Assert.AreEqual(1, await server.SetSvidAsync(rotated, [ca.Certificate]), "pushed to the one open stream");
        X509SVIDResponse afterRotation = await NextAsync(call);
        CollectionAssert.AreEqual(rotated.Certificate.RawData, afterRotation.Svids[0].X509Svid.ToByteArray());
        CollectionAssert.AreNotEqual(initial.Svids[0].X509Svid.ToByteArray(), afterRotation.Svids[0].X509Svid.ToByteArray());

        await server.AddFederatedBundleAsync("spiffe://partner.test", [partner.Certificate]);
        X509SVIDResponse afterFederation = await NextAsync(call);
        Assert.IsTrue(afterFederation.FederatedBundles.TryGetValue("spiffe://partner.test", out Google.Protobuf.ByteString? bundle), "keyed by the trust domain's SPIFFE ID");
        CollectionAssert.AreEqual(partner.Certificate.RawData, bundle.ToByteArray());
    }

    [TestMethod]
    public async Task KilledStream_EndsWithUnavailable_AndANewStreamGetsTheCurrentSvid()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        WorkloadCertificate svid = ca.IssueSvid(Orders);
        await server.SetSvidAsync(svid, [ca.Certificate]);

        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.Address));
        using (AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(CancellationToken.None))
        {
            await NextAsync(call);
            Assert.AreEqual(1, await server.KillStreamsAsync());
            RpcException ended = await Assert.ThrowsExactlyAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.AreEqual(StatusCode.Unavailable, ended.StatusCode, "what a client sees when the agent restarts");
        }

        using AsyncServerStreamingCall<X509SVIDResponse> again = connection.FetchX509Svid(CancellationToken.None);
        CollectionAssert.AreEqual(svid.Certificate.RawData, (await NextAsync(again)).Svids[0].X509Svid.ToByteArray());
    }

    [TestMethod]
    public async Task ServerThatStopsListening_EndsTheStreamWithUnavailable_AndServesAgainOnTheSameSocket()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        await server.SetSvidAsync(ca.IssueSvid(Orders), [ca.Certificate]);

        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.Address));
        using (AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(CancellationToken.None))
        {
            await NextAsync(call);
            await server.StopListeningAsync();
            RpcException ended = await Assert.ThrowsExactlyAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.AreEqual(StatusCode.Unavailable, ended.StatusCode);
        }

        WorkloadCertificate issuedWhileDown = ca.IssueSvid(Orders);
        await server.SetSvidAsync(issuedWhileDown, [ca.Certificate]);
        await server.StartListeningAsync();
        using AsyncServerStreamingCall<X509SVIDResponse> again = connection.FetchX509Svid(CancellationToken.None);
        CollectionAssert.AreEqual(issuedWhileDown.Certificate.RawData, (await NextAsync(again)).Svids[0].X509Svid.ToByteArray());
    }

    [TestMethod]
    public async Task DeniedWorkload_GetsPermissionDenied()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        await server.DenyAsync();

        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.Address));
        using AsyncServerStreamingCall<X509SVIDResponse> call = connection.FetchX509Svid(CancellationToken.None);
        RpcException denied = await Assert.ThrowsExactlyAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.AreEqual(StatusCode.PermissionDenied, denied.StatusCode);
    }

    [TestMethod]
    public async Task BundleStreams_CarryTheOwnAndFederatedTrustDomains_KeyedBySpiffeId()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using var partner = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("partner.test"));
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        await server.SetSvidAsync(ca.IssueSvid(Orders), [ca.Certificate]);
        const string Jwks = """{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1","use":"jwt-svid"}]}""";
        await server.SetJwtBundleAsync("spiffe://example.org", Jwks);

        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.Address));
        using AsyncServerStreamingCall<X509BundlesResponse> x509 = connection.FetchX509Bundles(CancellationToken.None);
        using AsyncServerStreamingCall<JWTBundlesResponse> jwt = connection.FetchJwtBundles(CancellationToken.None);
        using var timeout = new CancellationTokenSource(Eventually.Deadline);

        Assert.IsTrue(await x509.ResponseStream.MoveNext(timeout.Token));
        CollectionAssert.AreEquivalent(new[] { "spiffe://example.org" }, x509.ResponseStream.Current.Bundles.Keys.ToArray());
        Assert.IsTrue(await jwt.ResponseStream.MoveNext(timeout.Token));
        Assert.AreEqual(Jwks, jwt.ResponseStream.Current.Bundles["spiffe://example.org"].ToStringUtf8(), "JWKS JSON bytes, as given");

        await server.AddFederatedBundleAsync("spiffe://partner.test", [partner.Certificate]);
        Assert.IsTrue(await x509.ResponseStream.MoveNext(timeout.Token), "a federated bundle added is pushed");
        CollectionAssert.AreEqual(partner.Certificate.RawData, x509.ResponseStream.Current.Bundles["spiffe://partner.test"].ToByteArray());
        CollectionAssert.AreEqual(ca.Certificate.RawData, x509.ResponseStream.Current.Bundles["spiffe://example.org"].ToByteArray());
    }

    [TestMethod]
    public async Task JwtSvid_IsFetchedForItsAudience_AndRefusedForAnother()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        await using NodeWorkloadApiServer server = await NodeWorkloadApiServer.StartAsync();
        await server.SetJwtSvidAsync("billing", Orders, "header.payload.signature");

        using var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.Address));
        JWTSVIDResponse response = await connection.FetchJwtSvidAsync(["billing"], spiffeId: null, CancellationToken.None);
        Assert.HasCount(1, response.Svids);
        Assert.AreEqual(Orders.ToString(), response.Svids[0].SpiffeId);
        Assert.AreEqual("header.payload.signature", response.Svids[0].Svid);

        RpcException refused = await Assert.ThrowsExactlyAsync<RpcException>(() => connection.FetchJwtSvidAsync(["shipping"], spiffeId: null, CancellationToken.None));
        Assert.AreEqual(StatusCode.PermissionDenied, refused.StatusCode);
    }

    private static async Task<X509SVIDResponse> NextAsync(AsyncServerStreamingCall<X509SVIDResponse> call)
    {
        using var timeout = new CancellationTokenSource(Eventually.Deadline);
        Assert.IsTrue(await call.ResponseStream.MoveNext(timeout.Token), "the stream delivers a response");
        return call.ResponseStream.Current;
    }

    // A channel of its own, without the header WorkloadApiConnection adds to every call.
    private static GrpcChannel RawChannel(string socketPath) =>
        GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, cancellationToken) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            },
            DisposeHttpClient = true,
        });
}
