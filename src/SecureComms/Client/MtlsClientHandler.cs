using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// The primary handler of a SecureComms <c>HttpClient</c>: presents the workload SVID, accepts only a server whose
/// SVID chains to the bundle of its trust domain and satisfies the expected-server authorizer (the SPIFFE ID replaces
/// host-name matching), speaks TLS 1.2/1.3 only and refuses plaintext addresses. Without an expected server (only for
/// an authorization server outside the trust domain) the platform's ordinary checks apply: system trust and host name.
/// </summary>
/// <remarks>
/// Each certificate gets its own <see cref="SocketsHttpHandler"/> whose <see cref="SslClientAuthenticationOptions.ClientCertificateContext"/>
/// is fixed: that is what lets the platform cache the TLS context and resume sessions on Linux (a selection callback
/// would defeat it). When the source rotates, the next request switches to a new pool; the old pool drains for
/// <see cref="SecureClientOptions.RotationDrainTime"/> and is then disposed.
/// </remarks>
internal sealed class MtlsClientHandler : HttpMessageHandler
{
    private readonly string _clientName;
    private readonly SecureClientOptions _options;
    private readonly SpiffeIdAuthorizer? _expectedServer;
    private readonly ICertificateSource _certificates;
    private readonly PeerCertificateValidator _validator;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SecureCommsMetrics? _metrics;
    private readonly ConcurrentDictionary<string, ServerConnection> _servers = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _swapLock = new();
    private readonly List<ITimer> _drainTimers = [];
    private ConnectionPool? _current;
    private bool _disposed;

    public MtlsClientHandler(
        string clientName,
        SecureClientOptions options,
        SpiffeIdAuthorizer? expectedServer,
        ICertificateSource certificates,
        PeerCertificateValidator validator,
        TimeProvider timeProvider,
        ILogger logger,
        SecureCommsMetrics? metrics = null)
    {
        _clientName = clientName;
        _metrics = metrics;
        _options = options;
        _expectedServer = expectedServer;
        _certificates = certificates;
        _validator = validator;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>How many connection pools this handler has built (one per certificate seen); for tests and diagnostics.</summary>
    internal int PoolsCreated { get; private set; }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Uri? uri = request.RequestUri;
        if (uri is null || !uri.IsAbsoluteUri || !string.Equals(uri.Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase))
        {
            ClientLog.PlaintextRefused(_logger, _clientName, uri?.Scheme ?? "(none)");
            throw new InvalidOperationException(
                $"SecureComms client '{_clientName}' refuses the address '{uri}': only absolute https:// addresses are allowed, plaintext is never sent.");
        }

        ConnectionPool pool = GetPool();
        Activity? span = SecureCommsActivitySource.Instance.StartActivity(SecureCommsTelemetry.Spans.OutboundCall, ActivityKind.Internal);
        return span is null ? pool.Invoker.SendAsync(request, cancellationToken) : SendTracedAsync(pool, request, span, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendTracedAsync(ConnectionPool pool, HttpRequestMessage request, Activity span, CancellationToken cancellationToken)
    {
        using (span)
        {
            Uri uri = request.RequestUri!;
            span.SetTag(SecureCommsTelemetry.Tags.ClientName, _clientName);
            span.SetTag(SecureCommsTelemetry.Tags.ServerAddress, uri.Host);
            try
            {
                HttpResponseMessage response = await pool.Invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
                TagServer(span, uri);
                span.SetTag("http.response.status_code", (int)response.StatusCode);
                return response;
            }
            catch (Exception ex)
            {
                span.SetTag(SecureCommsTelemetry.Tags.ErrorType, ex.GetType().FullName);
                span.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                throw;
            }
        }
    }

    /// <summary>
    /// Tags the span with the identity the server proved on the connection to this address: the SPIFFE ID and TLS
    /// version recorded when that connection was established (every connection to one address is validated against the
    /// same expected server).
    /// </summary>
    private void TagServer(Activity span, Uri uri)
    {
        if (_servers.TryGetValue(uri.Authority, out ServerConnection? server))
        {
            span.SetTag(SecureCommsTelemetry.Tags.PeerSpiffeId, server.SpiffeId);
            span.SetTag(SecureCommsTelemetry.Tags.TlsProtocolName, "tls");
            span.SetTag(SecureCommsTelemetry.Tags.TlsProtocolVersion, server.TlsVersion);
        }
    }

    /// <summary>Runs once per new connection, after its TLS handshake: remembers who the server proved to be.</summary>
    private ValueTask<Stream> RecordConnection(SocketsHttpPlaintextStreamFilterContext context, CancellationToken cancellationToken)
    {
        if (context.PlaintextStream is SslStream tls && context.InitialRequestMessage.RequestUri is { } uri)
        {
            string? spiffeId = tls.RemoteCertificate is X509Certificate2 certificate && SvidInspector.TryGetSpiffeId(certificate, out SpiffeId id, out _)
                ? id.ToString()
                : null;
            _servers[uri.Authority] = new ServerConnection(spiffeId, SecureCommsActivitySource.TlsVersion(tls.SslProtocol));
        }

        return ValueTask.FromResult(context.PlaintextStream);
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        SendAsync(request, cancellationToken).GetAwaiter().GetResult();

    private ConnectionPool GetPool()
    {
        WorkloadCertificate certificate = _certificates.Current;
        ConnectionPool? pool = Volatile.Read(ref _current);
        if (pool is not null && ReferenceEquals(pool.Certificate, certificate))
        {
            return pool;
        }

        lock (_swapLock)
        {
            pool = _current;
            if (pool is not null && ReferenceEquals(pool.Certificate, certificate))
            {
                return pool;
            }

            var fresh = new ConnectionPool(certificate, CreateSocketsHandler(certificate));
            PoolsCreated++;
            Volatile.Write(ref _current, fresh);
            if (pool is not null)
            {
                ClientLog.PoolRotated(_logger, _clientName, certificate.SpiffeId, certificate.NotAfter);
                ScheduleDrain(pool);
            }

            return fresh;
        }
    }

    private void ScheduleDrain(ConnectionPool old)
    {
        if (_options.RotationDrainTime <= TimeSpan.Zero)
        {
            old.Dispose();
            return;
        }

        ITimer? timer = null;
        timer = _timeProvider.CreateTimer(
            _ =>
            {
                old.Dispose();
                lock (_swapLock)
                {
                    if (timer is not null)
                    {
                        _drainTimers.Remove(timer);
                        timer.Dispose();
                    }
                }
            },
            null,
            _options.RotationDrainTime,
            Timeout.InfiniteTimeSpan);
        _drainTimers.Add(timer);
    }

    private SocketsHttpHandler CreateSocketsHandler(WorkloadCertificate certificate) => new()
    {
        PooledConnectionLifetime = _options.PooledConnectionLifetime,
        ConnectTimeout = _options.ConnectTimeout,
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificateContext = certificate.SslContext,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,

            // SVIDs are short-lived and SPIFFE defines no revocation; the platform's own chain build is ignored
            // (we build against the peer's trust-domain bundle), so keep it offline and off the system store.
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = _expectedServer is null ? null : OfflinePlatformChainPolicy.Create(),
            RemoteCertificateValidationCallback = _expectedServer is null ? null : ValidateServerCertificate,
        },
        PlaintextStreamFilter = RecordConnection,
    };

    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_expectedServer is null)
        {
            return errors == SslPolicyErrors.None;
        }

        // Host-name errors are deliberately ignored: the server's SPIFFE ID replaces host-name matching.
        SvidValidationResult result = _validator.Validate(certificate as X509Certificate2, chain?.ChainPolicy.ExtraStore, PeerSide.Server);
        if (!result.IsValid)
        {
            ClientLog.ServerCertificateRejected(_logger, _clientName, result.Failure, result.Detail ?? string.Empty);
            _metrics?.PeerCertificateRefused(result.Failure, PeerSide.Server);
            return false;
        }

        if (!_expectedServer.IsAuthorized(result.SpiffeId))
        {
            ClientLog.UnexpectedServer(_logger, _clientName, result.SpiffeId, _expectedServer);
            _metrics?.PeerCertificateRefused(SvidValidationFailure.UnexpectedSpiffeId, PeerSide.Server);
            return false;
        }

        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            lock (_swapLock)
            {
                foreach (ITimer timer in _drainTimers)
                {
                    timer.Dispose();
                }

                _drainTimers.Clear();
                _current?.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private sealed record ServerConnection(string? SpiffeId, string? TlsVersion);

    private sealed class ConnectionPool(WorkloadCertificate certificate, SocketsHttpHandler handler) : IDisposable
    {
        public WorkloadCertificate Certificate { get; } = certificate;

        public HttpMessageInvoker Invoker { get; } = new(handler, disposeHandler: true);

        public void Dispose() => Invoker.Dispose();
    }
}
