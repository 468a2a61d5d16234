using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms;

/// <summary>
/// One gRPC channel to the SPIFFE Workload API over a Unix domain socket (or plain TCP). Every call carries the metadata
/// the specification requires (<c>workload.spiffe.io: true</c>); the channel is HTTP/2 without TLS, as the agent serves it.
/// </summary>
internal sealed class WorkloadApiConnection : IDisposable
{
    // SPIFFE Workload API §5.1: the header that tells a workload's call from a proxied request.
    internal const string SecurityHeaderName = "workload.spiffe.io";

    private readonly GrpcChannel _channel;
    private readonly SpiffeWorkloadAPI.SpiffeWorkloadAPIClient _client;

    public WorkloadApiConnection(WorkloadApiEndpoint endpoint, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Endpoint = endpoint;
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false };
        string address;
        if (endpoint.SocketPath is { } path)
        {
            // No HTTP/2 pings on a Unix socket: an agent that exits closes it, and the kernel tells the stream at once.
            handler.ConnectCallback = (_, cancellationToken) => ConnectUnixSocketAsync(path, cancellationToken);
            address = "http://localhost";
        }
        else
        {
            // Over TCP a silent peer is noticed by pings, spaced wider than the 5 minutes grpc-go servers (the SPIRE
            // agent) allow by default: more frequent pings on a quiet stream earn a GOAWAY "too_many_pings".
            handler.KeepAlivePingDelay = TimeSpan.FromMinutes(5.5);
            handler.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
            handler.KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests;
            address = $"http://{endpoint.TcpEndPoint}";
        }

        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            LoggerFactory = loggerFactory,
        });
        _client = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(_channel);
    }

    public WorkloadApiEndpoint Endpoint { get; }

    /// <summary>Opens the X.509-SVID stream: a response now and one on every change.</summary>
    public AsyncServerStreamingCall<X509SVIDResponse> FetchX509Svid(CancellationToken cancellationToken) =>
        _client.FetchX509SVID(new X509SVIDRequest(), CreateHeaders(), cancellationToken: cancellationToken);

    /// <summary>Opens the X.509 bundle stream: a response now and one on every change.</summary>
    public AsyncServerStreamingCall<X509BundlesResponse> FetchX509Bundles(CancellationToken cancellationToken) =>
        _client.FetchX509Bundles(new X509BundlesRequest(), CreateHeaders(), cancellationToken: cancellationToken);

    /// <summary>Opens the JWT bundle stream: a response now and one on every change.</summary>
    public AsyncServerStreamingCall<JWTBundlesResponse> FetchJwtBundles(CancellationToken cancellationToken) =>
        _client.FetchJWTBundles(new JWTBundlesRequest(), CreateHeaders(), cancellationToken: cancellationToken);

    /// <summary>Fetches JWT-SVIDs for <paramref name="audiences"/>, optionally for one of the workload's SPIFFE IDs.</summary>
    public async Task<JWTSVIDResponse> FetchJwtSvidAsync(IReadOnlyList<string> audiences, string? spiffeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audiences);
        var request = new JWTSVIDRequest { SpiffeId = spiffeId ?? string.Empty };
        request.Audience.Add(audiences);
        return await _client.FetchJWTSVIDAsync(request, CreateHeaders(), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _channel.Dispose();

    private static Metadata CreateHeaders() => new() { { SecurityHeaderName, "true" } };

    private static async ValueTask<Stream> ConnectUnixSocketAsync(string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
