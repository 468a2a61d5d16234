using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms.Testing;

/// <summary>
/// A SPIFFE Workload API server for local development, the demo and tests — <b>not a SPIRE agent</b>: it attests
/// nothing and serves one SPIFFE ID to every caller. It listens on a Unix domain socket (gRPC over HTTP/2 without TLS,
/// as an agent does), issues X.509-SVIDs from a <see cref="DevelopmentCertificateAuthority"/> and JWT-SVIDs signed by
/// <see cref="DevelopmentJwtSigningKeys"/>, pushes rotations and bundle changes on the open streams, and can misbehave
/// on purpose (malformed SVIDs, broken streams, restarts, denial) so that clients can be tested against it.
/// </summary>
/// <remarks>
/// As SPIRE does, every call without the metadata <c>workload.spiffe.io: true</c> fails with
/// <see cref="StatusCode.InvalidArgument"/> (SPIFFE Workload API §5.1), and a workload with no identity gets
/// <see cref="StatusCode.PermissionDenied"/> (see <see cref="DenyAll"/>).
/// </remarks>
public sealed class DevelopmentWorkloadApiServer : IAsyncDisposable
{
    // SPIFFE Workload API §5.1.
    private const string SecurityHeaderName = "workload.spiffe.io";
    private const string NoIdentityIssued = "no identity issued";

    private readonly DevelopmentWorkloadApiServerOptions _options;
    private readonly DevelopmentCertificateAuthority _authority;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly DevelopmentJwtSigningKeys _jwtKeys;
    private readonly bool _ownsJwtKeys;
    private readonly IDisposable _jwtKeysSubscription;
    private readonly ByteString _ownBundle;
    private readonly string _trustDomainKey;
    private readonly ResponseStreams<X509SVIDResponse> _x509Streams = new();
    private readonly ResponseStreams<X509BundlesResponse> _bundleStreams = new();
    private readonly ResponseStreams<JWTBundlesResponse> _jwtBundleStreams = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly Lock _stateLock = new();
    private readonly Dictionary<string, ByteString> _federatedBundles = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _issued = [];
    private X509SVID _currentSvid = new();
    private X509Certificate2 _currentCertificate = null!;
    private ITimer? _rotationTimer;
    private WebApplication? _app;
    private int? _boundTcpPort;
    private int _jwtSvidRequests;
    private volatile bool _denyAll;
    private bool _disposed;

    private DevelopmentWorkloadApiServer(DevelopmentWorkloadApiServerOptions options)
    {
        _options = options;
        _authority = options.Authority;
        SpiffeId = options.SpiffeId;
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _logger = options.LoggerFactory?.CreateLogger<DevelopmentWorkloadApiServer>() ?? NullLogger<DevelopmentWorkloadApiServer>.Instance;
        SocketPath = Path.GetFullPath(options.SocketPath ?? Path.Combine(Path.GetTempPath(), "sc-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + ".sock"));
        _trustDomainKey = _authority.TrustDomain.Id.ToString();

        TrustBundle bundle = _authority.CreateTrustBundle();
        try
        {
            _ownBundle = ByteString.CopyFrom(Concatenate(bundle.Authorities));
        }
        finally
        {
            foreach (X509Certificate2 certificate in bundle.Authorities)
            {
                certificate.Dispose();
            }
        }

        _ownsJwtKeys = options.JwtSigningKeys is null;
        _jwtKeys = options.JwtSigningKeys ?? new DevelopmentJwtSigningKeys();
        _jwtKeysSubscription = _jwtKeys.Subscribe(_ =>
        {
            PublishJwtBundle();
            return Task.CompletedTask;
        });
    }

    /// <summary>The address to give clients: <c>unix:///path/to/socket</c> (the value of <c>SPIFFE_ENDPOINT_SOCKET</c>).</summary>
    public string Socket => "unix://" + SocketPath;

    /// <summary>The absolute path of the Unix domain socket.</summary>
    public string SocketPath { get; }

    /// <summary>
    /// <c>tcp://127.0.0.1:port</c> when <see cref="DevelopmentWorkloadApiServerOptions.TcpPort"/> is set; otherwise
    /// <see langword="null"/>.
    /// </summary>
    public string? TcpAddress => _boundTcpPort is { } port ? $"tcp://127.0.0.1:{port}" : null;

    /// <summary>The SPIFFE ID served.</summary>
    public SpiffeId SpiffeId { get; }

    /// <summary>
    /// The leaf of the X.509-SVID this server issued last (with its private key). Owned by the server: valid until it is
    /// disposed. <see cref="PushRawX509Async"/> does not change it.
    /// </summary>
    public X509Certificate2 CurrentCertificate
    {
        get
        {
            lock (_stateLock)
            {
                return _currentCertificate;
            }
        }
    }

    /// <summary>How many <c>FetchX509SVID</c> streams are open.</summary>
    public int ConnectedX509Streams => _x509Streams.Count;

    /// <summary>How many <c>FetchJWTSVID</c> calls were answered with a JWT-SVID.</summary>
    public int JwtSvidRequestCount => Volatile.Read(ref _jwtSvidRequests);

    /// <summary>
    /// When <see langword="true"/>, every call fails with <see cref="StatusCode.PermissionDenied"/> "no identity
    /// issued", as SPIRE answers a workload with no registration entry; setting it ends the open streams that way.
    /// </summary>
    public bool DenyAll
    {
        get => _denyAll;
        set
        {
            _denyAll = value;
            if (value)
            {
                EndStreams(new Status(StatusCode.PermissionDenied, NoIdentityIssued));
            }
        }
    }

    /// <summary>Issues the first X.509-SVID and starts listening.</summary>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public static async Task<DevelopmentWorkloadApiServer> StartAsync(DevelopmentWorkloadApiServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var server = new DevelopmentWorkloadApiServer(options);
        try
        {
            server.IssueAndPublish();
            server.PublishBundles();
            server.PublishJwtBundle();
            await server.ListenAsync(cancellationToken).ConfigureAwait(false);
            if (options.RotateEvery is { } period)
            {
                server._rotationTimer = server._timeProvider.CreateTimer(static state => ((DevelopmentWorkloadApiServer)state!).RotateOnTimer(), server, period, period);
            }

            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Issues a new X.509-SVID and pushes it to every open <c>FetchX509SVID</c> stream.</summary>
    /// <returns>The new leaf (owned by the server).</returns>
    public Task<X509Certificate2> RotateAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Task.FromResult(IssueAndPublish());
    }

    /// <summary>
    /// Adds (or replaces) the bundle of a federated trust domain: pushed in <c>federated_bundles</c> (key
    /// <c>spiffe://domain</c>) on the <c>FetchX509SVID</c> streams and in <c>bundles</c> on the <c>FetchX509Bundles</c> streams.
    /// </summary>
    public Task AddFederatedBundleAsync(TrustDomain trustDomain, X509Certificate2Collection roots, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentException.ThrowIfNullOrEmpty(trustDomain.Name, nameof(trustDomain));
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_stateLock)
        {
            _federatedBundles[trustDomain.Id.ToString()] = ByteString.CopyFrom(Concatenate(roots));
            _x509Streams.Publish(CreateX509Response(_currentSvid));
        }

        PublishBundles();
        WorkloadApiServerLog.FederatedBundleAdded(_logger, trustDomain.Name, roots.Count);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Pushes an X.509-SVID response exactly as given — nothing is checked, so a test can send bad DER, a key that does
    /// not match the certificate or a certificate that breaks the X509-SVID rules. The bundle and federated bundles are
    /// the server's own. It stays the response new streams get until the next <see cref="RotateAsync"/>.
    /// </summary>
    /// <param name="certificatesDer">The <c>x509_svid</c> field: DER certificates concatenated, leaf first.</param>
    /// <param name="privateKeyPkcs8">The <c>x509_svid_key</c> field: a PKCS#8 private key (DER).</param>
    /// <param name="spiffeId">The <c>spiffe_id</c> field.</param>
    /// <param name="cancellationToken">Cancels before the push.</param>
    public Task PushRawX509Async(byte[] certificatesDer, byte[] privateKeyPkcs8, string spiffeId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(certificatesDer);
        ArgumentNullException.ThrowIfNull(privateKeyPkcs8);
        ArgumentNullException.ThrowIfNull(spiffeId);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        var svid = new X509SVID
        {
            SpiffeId = spiffeId,
            X509Svid = ByteString.CopyFrom(certificatesDer),
            X509SvidKey = ByteString.CopyFrom(privateKeyPkcs8),
            Bundle = _ownBundle,
            Hint = _options.Hint ?? string.Empty,
        };
        int streams;
        lock (_stateLock)
        {
            _currentSvid = svid;
            streams = _x509Streams.Publish(CreateX509Response(svid));
        }

        WorkloadApiServerLog.RawPushed(_logger, spiffeId, streams);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Ends every open stream with <see cref="StatusCode.Unavailable"/>, as clients see an agent restart; the server
    /// keeps listening, and a client that reconnects gets the current responses.
    /// </summary>
    public void BreakStreams() => EndStreams(new Status(StatusCode.Unavailable, "the Workload API server ended the stream"));

    /// <summary>
    /// Ends the open streams with <see cref="StatusCode.Unavailable"/>, stops listening and removes the socket file.
    /// <see cref="RestartAsync"/> listens again.
    /// </summary>
    public async Task StopAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            await StopCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Stops (if listening) and listens again on the same socket (and TCP port) with the same authority, identity and
    /// current SVID, as an agent that restarted.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopCoreAsync().ConfigureAwait(false);
            await ListenCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the server, removes the socket and disposes the SVIDs it issued (not the authority).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _rotationTimer?.Dispose();
        await StopAsync().ConfigureAwait(false);
        _jwtKeysSubscription.Dispose();
        if (_ownsJwtKeys)
        {
            _jwtKeys.Dispose();
        }

        lock (_stateLock)
        {
            foreach (IDisposable issued in _issued)
            {
                issued.Dispose();
            }

            _issued.Clear();
        }

        _lifecycle.Dispose();
    }

    internal void Authorize(ServerCallContext context)
    {
        // SPIFFE Workload API §5.1: a call without the header may be a proxied request, not the workload itself.
        if (context.RequestHeaders.GetValue(SecurityHeaderName) != "true")
        {
            WorkloadApiServerLog.MissingSecurityHeader(_logger, context.Method);
            throw new RpcException(new Status(StatusCode.InvalidArgument, "security header missing from request"));
        }

        if (_denyAll)
        {
            WorkloadApiServerLog.Denied(_logger, context.Method);
            throw new RpcException(new Status(StatusCode.PermissionDenied, NoIdentityIssued));
        }
    }

    internal Task FetchX509SvidAsync(IServerStreamWriter<X509SVIDResponse> writer, ServerCallContext context) =>
        ServeAsync(_x509Streams, writer, context);

    internal Task FetchX509BundlesAsync(IServerStreamWriter<X509BundlesResponse> writer, ServerCallContext context) =>
        ServeAsync(_bundleStreams, writer, context);

    internal Task FetchJwtBundlesAsync(IServerStreamWriter<JWTBundlesResponse> writer, ServerCallContext context) =>
        ServeAsync(_jwtBundleStreams, writer, context);

    internal JWTSVIDResponse FetchJwtSvid(JWTSVIDRequest request, ServerCallContext context)
    {
        Authorize(context);

        // JWT-SVID §3: aud is required.
        if (request.Audience.Count == 0 || request.Audience.Any(string.IsNullOrEmpty))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "audience must be specified"));
        }

        string id = SpiffeId.ToString();
        if (request.SpiffeId.Length > 0 && !string.Equals(request.SpiffeId, id, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, NoIdentityIssued));
        }

        DateTime now = _timeProvider.GetUtcNow().UtcDateTime;
        SigningCredentials credentials = _jwtKeys.CurrentSigningCredentials;
        var descriptor = new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                ["sub"] = id,
                ["aud"] = request.Audience.Count == 1 ? request.Audience[0] : request.Audience.ToArray(),
            },
            IssuedAt = now,
            Expires = now + _options.JwtSvidLifetime,
            SigningCredentials = credentials,
            TokenType = "JWT",
        };
        string token = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
        Interlocked.Increment(ref _jwtSvidRequests);
        WorkloadApiServerLog.JwtSvidIssued(_logger, id, request.Audience, credentials.Key.KeyId);
        var response = new JWTSVIDResponse();
        response.Svids.Add(new JWTSVID { SpiffeId = id, Svid = token, Hint = _options.Hint ?? string.Empty });
        return response;
    }

    internal async Task<ValidateJWTSVIDResponse> ValidateJwtSvidAsync(ValidateJWTSVIDRequest request, ServerCallContext context)
    {
        Authorize(context);
        if (request.Audience.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "audience must be specified"));
        }

        if (request.Svid.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "svid must be specified"));
        }

        // JWT-SVID §3 and §5: signed by a key of the bundle, aud holds the audience, exp in the future, sub a SPIFFE ID
        // of this trust domain (the only JWT bundle this server holds).
        TokenValidationResult result = await new JsonWebTokenHandler().ValidateTokenAsync(request.Svid, new TokenValidationParameters
        {
            IssuerSigningKeys = _jwtKeys.ValidationKeys,
            ValidAudience = request.Audience,
            ValidateIssuer = false,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            RequireExpirationTime = true,
            LifetimeValidator = (notBefore, expires, _, _) => expires > _timeProvider.GetUtcNow().UtcDateTime && (notBefore is null || notBefore <= _timeProvider.GetUtcNow().UtcDateTime),
        }).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the JWT-SVID is not valid: " + result.Exception?.Message));
        }

        if (!SpiffeId.TryParse(token.Subject, out SpiffeId subject) || subject.IsTrustDomainId || !subject.IsMemberOf(_authority.TrustDomain))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the JWT-SVID's sub is not a workload SPIFFE ID of this trust domain"));
        }

        return new ValidateJWTSVIDResponse
        {
            SpiffeId = subject.ToString(),
            Claims = Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson(Base64UrlEncoder.Decode(token.EncodedPayload)),
        };
    }

    private static void Validate(DevelopmentWorkloadApiServerOptions options)
    {
        var problems = new List<string>();
        if (options.Authority is null)
        {
            problems.Add("Authority is required.");
        }

        if (options.SpiffeId.IsEmpty || options.SpiffeId.IsTrustDomainId)
        {
            problems.Add("SpiffeId must be a workload's SPIFFE ID (with a path).");
        }
        else if (options.Authority is not null && !options.SpiffeId.IsMemberOf(options.Authority.TrustDomain))
        {
            problems.Add($"SpiffeId '{options.SpiffeId}' is not in the authority's trust domain '{options.Authority.TrustDomain}'.");
        }

        if (options.SvidLifetime <= TimeSpan.Zero)
        {
            problems.Add("SvidLifetime must be positive.");
        }

        if (options.JwtSvidLifetime <= TimeSpan.Zero)
        {
            problems.Add("JwtSvidLifetime must be positive.");
        }

        if (options.RotateEvery is { } period && period <= TimeSpan.Zero)
        {
            problems.Add("RotateEvery must be positive when set.");
        }

        if (options.TcpPort is < 0 or > 65535)
        {
            problems.Add("TcpPort must be between 0 and 65535.");
        }

        if (options.SocketPath is { } path && (!Path.IsPathFullyQualified(path) || System.Text.Encoding.UTF8.GetByteCount(path) >= 108))
        {
            problems.Add($"SocketPath '{path}' must be an absolute path shorter than 108 bytes.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid development Workload API server options: " + string.Join(" ", problems), nameof(options));
        }
    }

    private static byte[] Concatenate(X509Certificate2Collection certificates)
    {
        var buffer = new MemoryStream();
        foreach (X509Certificate2 certificate in certificates)
        {
            buffer.Write(certificate.RawData);
        }

        return buffer.ToArray();
    }

    private async Task ServeAsync<T>(ResponseStreams<T> streams, IServerStreamWriter<T> writer, ServerCallContext context)
        where T : class
    {
        Authorize(context);
        WorkloadApiServerLog.StreamOpened(_logger, context.Method, streams.Count + 1);
        try
        {
            await streams.ServeAsync(writer, context.CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            WorkloadApiServerLog.StreamClosed(_logger, context.Method);
        }
    }

    private X509Certificate2 IssueAndPublish()
    {
        WorkloadCertificate issued = _authority.IssueSvid(SpiffeId, _options.SvidLifetime);
        X509Certificate2 leaf = issued.Certificate;
        byte[] key;
        using (ECDsa ecdsa = leaf.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the issued SVID has no ECDSA key"))
        {
            key = ecdsa.ExportPkcs8PrivateKey();
        }

        var chain = new X509Certificate2Collection(leaf);
        chain.AddRange(issued.Intermediates);
        var svid = new X509SVID
        {
            SpiffeId = SpiffeId.ToString(),
            X509Svid = ByteString.CopyFrom(Concatenate(chain)),
            X509SvidKey = ByteString.CopyFrom(key),
            Bundle = _ownBundle,
            Hint = _options.Hint ?? string.Empty,
        };
        CryptographicOperations.ZeroMemory(key);
        int streams;
        lock (_stateLock)
        {
            _issued.Add(leaf);
            foreach (X509Certificate2 intermediate in issued.Intermediates)
            {
                _issued.Add(intermediate);
            }

            _currentCertificate = leaf;
            _currentSvid = svid;
            streams = _x509Streams.Publish(CreateX509Response(svid));
        }

        string serial = leaf.SerialNumber;
        DateTimeOffset notAfter = leaf.NotAfter.ToUniversalTime();
        WorkloadApiServerLog.SvidIssued(_logger, serial, svid.SpiffeId, notAfter, streams);
        return leaf;
    }

    // Called under _stateLock.
    private X509SVIDResponse CreateX509Response(X509SVID svid)
    {
        var response = new X509SVIDResponse();
        response.Svids.Add(svid);
        response.FederatedBundles.Add(_federatedBundles);
        return response;
    }

    private void PublishBundles()
    {
        lock (_stateLock)
        {
            var response = new X509BundlesResponse();
            response.Bundles[_trustDomainKey] = _ownBundle;
            response.Bundles.Add(_federatedBundles);
            _bundleStreams.Publish(response);
        }
    }

    private void PublishJwtBundle()
    {
        var response = new JWTBundlesResponse();
        response.Bundles[_trustDomainKey] = ByteString.CopyFrom(_jwtKeys.CreateJwks());
        int streams = _jwtBundleStreams.Publish(response);
        WorkloadApiServerLog.JwtBundlePushed(_logger, _trustDomainKey, streams);
    }

    private void RotateOnTimer()
    {
        try
        {
            if (!_disposed)
            {
                IssueAndPublish();
            }
        }
        catch (Exception ex) when (ex is CryptographicException or InvalidOperationException or ObjectDisposedException or ArgumentException)
        {
            WorkloadApiServerLog.RotationFailed(_logger, ex);
        }
    }

    private void EndStreams(Status status)
    {
        int ended = _x509Streams.EndAll(status) + _bundleStreams.EndAll(status) + _jwtBundleStreams.EndAll(status);
        if (ended > 0)
        {
            WorkloadApiServerLog.StreamsEnded(_logger, status.StatusCode, status.Detail, ended);
        }
    }

    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ListenCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task ListenCoreAsync(CancellationToken cancellationToken)
    {
        RemoveStaleSocket();

        // Configured in code: appsettings files are not read or watched.
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new WorkloadApiService(this));
        int? tcpPort = _boundTcpPort ?? _options.TcpPort;
        builder.WebHost.UseKestrel(kestrel =>
        {
            // The Workload API is gRPC over HTTP/2 without TLS (prior knowledge), as SPIRE serves it.
            kestrel.ListenUnixSocket(SocketPath, listen => listen.Protocols = HttpProtocols.Http2);
            if (tcpPort is { } port)
            {
                kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2);
            }
        });
        WebApplication app = builder.Build();
        app.MapGrpcService<WorkloadApiService>();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _app = app;
        if (tcpPort is not null)
        {
            foreach (string address in app.Urls)
            {
                if (address.StartsWith("http://127.0.0.1:", StringComparison.Ordinal))
                {
                    _boundTcpPort = new Uri(address).Port;
                }
            }
        }

        WorkloadApiServerLog.Started(_logger, SpiffeId.ToString(), TcpAddress is { } tcp ? $"{Socket} and {tcp}" : Socket);
    }

    private async Task StopCoreAsync()
    {
        if (_app is not { } app)
        {
            return;
        }

        _app = null;

        // Open streams never end by themselves: end them first, as a stopping agent's connections break.
        EndStreams(new Status(StatusCode.Unavailable, "the Workload API server is stopping"));
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        File.Delete(SocketPath);
        WorkloadApiServerLog.Stopped(_logger, Socket);
    }

    private void RemoveStaleSocket()
    {
        if (!File.Exists(SocketPath))
        {
            return;
        }

        // A socket file left by a process that died is removed; one somebody still listens on is not taken over.
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(SocketPath));
        }
        catch (SocketException)
        {
            File.Delete(SocketPath);
            return;
        }

        throw new IOException($"Another process is listening on the Workload API socket '{SocketPath}'.");
    }
}
