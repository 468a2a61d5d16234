using System.Formats.Asn1;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using SecureComms.Testing;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms.DevCert.Tests;

/// <summary><c>workload-api serve</c> run in-process, reached by a real gRPC client over its Unix socket.</summary>
[TestClass]
public sealed class WorkloadApiServeCommandTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task Serve_PrintsTheSocket_HandsOutAValidSvid_AndRemovesTheSocketWhenCancelled()
    {
        using var folder = new TemporaryFolder();
        SavedCa.Require(DevCertRun.Of("ca", "create", "--trust-domain", SavedCa.TrustDomainName, "--out", folder.Path));
        string socketPath = Path.Combine(Path.GetTempPath(), "sc-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + ".sock");
        using var output = new StringWriter();
        using var error = new StringWriter();
        TextWriter synchronizedOutput = TextWriter.Synchronized(output);
        using var stop = new CancellationTokenSource();
        Task<int> run = DevCertCommand.RunAsync(
            ["workload-api", "serve", "--ca", folder.Path, "--socket", socketPath, "--spiffe-id", SavedCa.OrdersId, "--ttl", "10m"],
            synchronizedOutput,
            TextWriter.Synchronized(error),
            TimeProvider.System,
            stop.Token);
        string Printed()
        {
            lock (synchronizedOutput)
            {
                return output.ToString();
            }
        }

        try
        {
            await Eventually.WaitUntilAsync(() => run.IsCompleted || Printed().Contains("SPIFFE_ENDPOINT_SOCKET=", StringComparison.Ordinal), "the address is printed");
            Assert.IsFalse(run.IsCompleted, $"exit {(run.IsCompleted ? run.Result : 0)}\n{Printed()}\n{error}");
            CollectionAssert.Contains(Printed().Split('\n', StringSplitOptions.TrimEntries), $"SPIFFE_ENDPOINT_SOCKET=unix://{socketPath}");
            StringAssert.Contains(Printed(), "rotated and pushed every 5m");

            X509SVID svid = await FetchFirstSvidAsync(socketPath);

            Assert.AreEqual(SavedCa.OrdersId, svid.SpiffeId);
            using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(FirstDer(svid.X509Svid.ToByteArray()));
            using X509Certificate2 caCertificate = PemFiles.FirstCertificate(folder.File("ca.pem"));
            CollectionAssert.AreEqual(caCertificate.RawData, svid.Bundle.ToByteArray());
            using var bundleSource = new InMemoryTrustBundleSource(new TrustBundle(TrustDomain.Parse(SavedCa.TrustDomainName), [X509CertificateLoader.LoadCertificate(caCertificate.RawData)]));
            SvidValidationResult result = DevelopmentCertificateAuthority.ValidateSvid(leaf, null, bundleSource, PeerSide.Server);
            Assert.IsTrue(result.IsValid, result.ToString());
            Assert.AreEqual(TimeSpan.FromMinutes(10), leaf.NotAfter - leaf.NotBefore - TimeSpan.FromMinutes(5), "--ttl from a validity window that starts five minutes early");
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.AreEqual(0, await run.WaitAsync(Eventually.Deadline, TestContext.CancellationToken), error.ToString());
        Assert.IsFalse(File.Exists(socketPath), "the socket is removed");
    }

    [TestMethod]
    [DataRow("--rotate-every", "2m", "not shorter than --ttl")]
    [DataRow("--ttl", "soon", "is not a positive duration")]
    [DataRow("--spiffe-id", "spiffe://partner.test/orders", "not in the CA's trust domain")]
    [DataRow("--spiffe-id", "spiffe://example.org", "names a trust domain")]
    public void Serve_WithABadArgument_IsAUsageError(string option, string value, string message)
    {
        using var folder = new TemporaryFolder();
        SavedCa.Require(DevCertRun.Of("ca", "create", "--trust-domain", SavedCa.TrustDomainName, "--out", folder.Path));
        List<string> args = ["workload-api", "serve", "--ca", folder.Path, "--ttl", "2m", "--spiffe-id", SavedCa.OrdersId];
        int index = args.IndexOf(option);
        if (index >= 0)
        {
            args[index + 1] = value;
        }
        else
        {
            args.AddRange([option, value]);
        }

        DevCertRun run = DevCertRun.Of([.. args]);

        Assert.AreEqual(ExitCodes.Usage, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Error, message);
    }

    [TestMethod]
    public void Serve_WithoutASavedCa_FailsNamingTheCommandThatCreatesOne()
    {
        using var folder = new TemporaryFolder();

        DevCertRun run = DevCertRun.Of("workload-api", "serve", "--ca", folder.Path, "--spiffe-id", SavedCa.OrdersId);

        Assert.AreEqual(ExitCodes.Failed, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Error, "securecomms-dev ca create");
    }

    private async Task<X509SVID> FetchFirstSvidAsync(string socketPath)
    {
        using var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
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
        var client = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(channel);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.CancellationToken);
        timeout.CancelAfter(Eventually.Deadline);
        using AsyncServerStreamingCall<X509SVIDResponse> call = client.FetchX509SVID(
            new X509SVIDRequest(), new Metadata { { "workload.spiffe.io", "true" } }, cancellationToken: timeout.Token);
        Assert.IsTrue(await call.ResponseStream.MoveNext(timeout.Token), "the stream ended before the first response");
        return call.ResponseStream.Current.Svids.Single();
    }

    private static byte[] FirstDer(byte[] concatenated)
    {
        AsnDecoder.ReadEncodedValue(concatenated, AsnEncodingRules.DER, out _, out _, out int consumed);
        return concatenated[..consumed];
    }
}
