using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// The primary handler of a SecureComms <c>HttpClient</c>: presents the workload SVID, accepts only a server whose
/// SVID chains to the bundle of its trust domain and satisfies the expected-server authorizer (the SPIFFE ID replaces
/// host-name matching), speaks TLS 1.2/1.3 only and refuses plaintext addresses. Without an expected server (only for
/// an authorization server outside the trust domain) a server certificate is checked like any HTTPS server's: chain and
/// host name, against the system trust store or, when given, only the CAs of a configured PEM bundle (an internal CA).
/// </summary>
/// <remarks>
/// Each certificate gets its own <see cref="SocketsHttpHandler"/> whose <see cref="SslClientAuthenticationOptions.ClientCertificateContext"/>
/// is fixed: that is what lets the platform cache the TLS context and resume sessions on Linux (a selection callback
/// would defeat it). When the source rotates, the next request switches to a new pool; the old pool drains for
/// <see cref="SecureClientOptions.RotationDrainTime"/> after its last request and is then disposed. A request that
/// carries a certificate-bound token names the token's certificate (<see cref="BoundCertificate"/>) and goes out on that
/// certificate's pool, so a token is only ever presented with the certificate it is bound to (RFC 8705 §3), also while
/// an earlier certificate and its token are still in use after a rotation (make before break).
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
    private readonly IMeterFactory? _meterFactory;
    private readonly ConcurrentDictionary<string, ServerConnection> _servers = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, string> _rejections = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The most server addresses <c>_servers</c> and <c>_rejections</c> remember (diagnostics only: span tags and the
    /// reason of a refused handshake). A client whose destinations come from requests (a gateway) cannot grow them
    /// without bound; when full they start over, which costs nothing but a tag until the next handshake.
    /// </summary>
    internal const int MaxRememberedServers = 1024;
    private readonly X509Certificate2Collection? _serverCaBundle;
    private readonly bool _readsBoundCertificate;
    private readonly Lock _swapLock = new();
    private readonly List<ITimer> _drainTimers = [];
    private ConnectionPool? _current;
    private ConnectionPool? _previous;
    private bool _disposed;

    /// <summary>
    /// Set by the token handler on every request it adds a token to: the certificate that token is bound to, which the
    /// connection must present.
    /// </summary>
    internal static readonly HttpRequestOptionsKey<WorkloadCertificate> BoundCertificate = new("SecureComms.BoundCertificate");

    public MtlsClientHandler(
        string clientName,
        SecureClientOptions options,
        SpiffeIdAuthorizer? expectedServer,
        ICertificateSource certificates,
        PeerCertificateValidator validator,
        TimeProvider timeProvider,
        ILogger logger,
        SecureCommsMetrics? metrics = null,
        X509Certificate2Collection? serverCaBundle = null,
        IMeterFactory? meterFactory = null)
    {
        _clientName = clientName;
        _metrics = metrics;
        _meterFactory = meterFactory;
        _serverCaBundle = serverCaBundle;
        _readsBoundCertificate = options.Token is not null; // only token clients name a certificate per request
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

        WorkloadCertificate certificate = _readsBoundCertificate && request.Options.TryGetValue(BoundCertificate, out WorkloadCertificate? bound)
            ? bound
            : _certificates.Current;
        ConnectionPool pool = GetPool(certificate);
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
            RememberBounded(_servers, uri.Authority);
            _servers[uri.Authority] = new ServerConnection(spiffeId, SecureCommsActivitySource.TlsVersion(tls.SslProtocol));
        }

        return ValueTask.FromResult(context.PlaintextStream);
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        SendAsync(request, cancellationToken).GetAwaiter().GetResult();

    private ConnectionPool GetPool(WorkloadCertificate certificate)
    {
        ConnectionPool? pool = Volatile.Read(ref _current);
        return pool is not null && ReferenceEquals(pool.Certificate, certificate) ? pool : GetPoolSlow(certificate);
    }

    /// <summary>
    /// A pool presenting <paramref name="certificate"/>: the current one, the previous one (kept while a token bound to
    /// it is still sent), or a new one. A certificate newer than the current pool's becomes current; an older one is
    /// served as the previous pool. Replaced pools drain and are disposed.
    /// </summary>
    private ConnectionPool GetPoolSlow(WorkloadCertificate certificate)
    {
        lock (_swapLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ConnectionPool? pool = _current;
            if (pool is not null && ReferenceEquals(pool.Certificate, certificate))
            {
                return pool;
            }

            long now = _timeProvider.GetTimestamp();
            if (_previous is { Disposed: false } previous && ReferenceEquals(previous.Certificate, certificate))
            {
                previous.LastUsed = now;
                return previous;
            }

            var fresh = new ConnectionPool(certificate, CreateSocketsHandler(certificate)) { LastUsed = now };
            PoolsCreated++;
            WorkloadCertificate sourceCurrent = _certificates.Current;
            if (pool is not null && !ReferenceEquals(certificate, sourceCurrent)
                && (ReferenceEquals(pool.Certificate, sourceCurrent) || certificate.NotBefore < pool.Certificate.NotBefore))
            {
                // An earlier certificate whose bound token is still in use while the new one's is requested.
                Retire(_previous);
                _previous = fresh;
                if (_options.RotationDrainTime > TimeSpan.Zero)
                {
                    ScheduleDrain(fresh); // disposed once idle; without a drain time, at the next swap
                }

                return fresh;
            }

            Volatile.Write(ref _current, fresh);
            if (pool is not null)
            {
                ClientLog.PoolRotated(_logger, _clientName, certificate.SpiffeId, certificate.NotAfter);
                pool.LastUsed = now;
                Retire(_previous);
                _previous = pool;
                ScheduleDrain(pool);
            }

            return fresh;
        }
    }

    /// <summary>A previous pool replaced by another: no new request reaches it; it drains on its own timer.</summary>
    private void Retire(ConnectionPool? pool)
    {
        if (pool is not null && !pool.DrainScheduled)
        {
            ScheduleDrain(pool);
        }
    }

    /// <summary>Disposes <paramref name="old"/> once no request has picked it for <see cref="SecureClientOptions.RotationDrainTime"/>.</summary>
    private void ScheduleDrain(ConnectionPool old)
    {
        old.DrainScheduled = true;
        if (_options.RotationDrainTime <= TimeSpan.Zero)
        {
            DisposePool(old);
            return;
        }

        ITimer? timer = null;
        timer = _timeProvider.CreateTimer(
            _ =>
            {
                lock (_swapLock)
                {
                    TimeSpan idle = _timeProvider.GetElapsedTime(old.LastUsed);
                    if (!_disposed && idle < _options.RotationDrainTime && ReferenceEquals(_previous, old))
                    {
                        timer?.Change(_options.RotationDrainTime - idle, Timeout.InfiniteTimeSpan); // still in use
                        return;
                    }

                    DisposePool(old);
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

    private void DisposePool(ConnectionPool pool)
    {
        pool.Dispose();
        if (ReferenceEquals(_previous, pool))
        {
            _previous = null;
        }
    }

    /// <summary>
    /// The handler of one pool: SecureComms' connection defaults, then the application's hook
    /// (<see cref="SecureClientOptions.ConfigureHandler"/>), then the TLS settings, which the hook may not touch.
    /// </summary>
    private SocketsHttpHandler CreateSocketsHandler(WorkloadCertificate certificate)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = _options.PooledConnectionLifetime,
            ConnectTimeout = _options.ConnectTimeout,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,

            // The host's meters, as IHttpClientFactory gives a primary SocketsHttpHandler: the client's http.client.*
            // metrics belong to the application's meter provider, not to the process-wide default meter.
            MeterFactory = _meterFactory,
        };

        if (_options.ConfigureHandler is { } configure)
        {
            try
            {
                SslClientAuthenticationOptions untouched = handler.SslOptions;
                configure(handler);
                if (ChangedOwnedSetting(handler, untouched) is { } changed)
                {
                    ClientLog.HandlerConfigurationRefused(_logger, _clientName, changed);
                    throw new InvalidOperationException(
                        $"SecureComms client '{_clientName}': its handler configuration changed {changed}, which SecureComms sets itself "
                        + "(client certificate, server SPIFFE ID check, TLS versions, no redirects). Configure connections only: proxy, connection limits, timeouts, HTTP/2 settings.");
                }
            }
            catch
            {
                handler.Dispose();
                throw;
            }
        }

        handler.AllowAutoRedirect = false;
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificateContext = certificate.SslContext,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,

            // SVIDs are short-lived and SPIFFE defines no revocation; the platform's own chain build is ignored
            // (we build against the peer's trust-domain bundle, or the configured CA file), so keep it offline and off
            // the system store. Without either, the platform checks the system store and the host name as usual.
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = _expectedServer is null && _serverCaBundle is null ? null : OfflinePlatformChainPolicy.Create(),
            RemoteCertificateValidationCallback = ValidateServerCertificate,
        };
        handler.PlaintextStreamFilter = RecordConnection;
        return handler;
    }

    /// <summary>
    /// The first setting SecureComms owns that the application's hook changed, or null. Whatever the hook did,
    /// SecureComms' TLS settings replace it; the check is there so a change is refused with its name, never ignored.
    /// </summary>
    private static string? ChangedOwnedSetting(SocketsHttpHandler handler, SslClientAuthenticationOptions untouched)
    {
        if (!ReferenceEquals(handler.SslOptions, untouched))
        {
            return nameof(SocketsHttpHandler.SslOptions);
        }

        string? ssl = untouched switch
        {
            { RemoteCertificateValidationCallback: not null } => nameof(SslClientAuthenticationOptions.RemoteCertificateValidationCallback),
            { LocalCertificateSelectionCallback: not null } => nameof(SslClientAuthenticationOptions.LocalCertificateSelectionCallback),
            { ClientCertificates: not null } => nameof(SslClientAuthenticationOptions.ClientCertificates),
            { ClientCertificateContext: not null } => nameof(SslClientAuthenticationOptions.ClientCertificateContext),
            { CertificateChainPolicy: not null } => nameof(SslClientAuthenticationOptions.CertificateChainPolicy),
            { EnabledSslProtocols: not SslProtocols.None } => nameof(SslClientAuthenticationOptions.EnabledSslProtocols),
            { CertificateRevocationCheckMode: not X509RevocationMode.NoCheck } => nameof(SslClientAuthenticationOptions.CertificateRevocationCheckMode),
#pragma warning disable SYSLIB0040 // EncryptionPolicy is obsolete; a hook that sets it is refused all the same
            { EncryptionPolicy: not EncryptionPolicy.RequireEncryption } => nameof(SslClientAuthenticationOptions.EncryptionPolicy),
#pragma warning restore SYSLIB0040
            { CipherSuitesPolicy: not null } => nameof(SslClientAuthenticationOptions.CipherSuitesPolicy),
            { TargetHost: not null } => nameof(SslClientAuthenticationOptions.TargetHost),
            _ => null,
        };
        if (ssl is not null)
        {
            return $"{nameof(SocketsHttpHandler.SslOptions)}.{ssl}";
        }

        if (handler.PlaintextStreamFilter is not null)
        {
            return nameof(SocketsHttpHandler.PlaintextStreamFilter);
        }

        return handler.AllowAutoRedirect ? nameof(SocketsHttpHandler.AllowAutoRedirect) : null;
    }

    /// <summary>
    /// Why the last TLS handshake with <paramref name="host"/> refused the server certificate, if it did (the check that
    /// failed); the platform's exception only says that a validation callback refused it.
    /// </summary>
    internal string? LastServerCertificateRejection(string host) => _rejections.TryGetValue(host, out string? reason) ? reason : null;

    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        string host = (sender as SslStream)?.TargetHostName ?? string.Empty;
        string? rejection = _expectedServer is not null
            ? ValidateSvid(certificate, chain)
            : _serverCaBundle is not null
                ? ValidateAgainstCaBundle(certificate, chain, errors)
                : DescribePlatformErrors(errors, chain);
        if (rejection is null)
        {
            _rejections.TryRemove(host, out _);
            return true;
        }

        RememberBounded(_rejections, host);
        _rejections[host] = rejection;
        return false;
    }

    /// <summary>How many server addresses are remembered now (for tests).</summary>
    internal int RememberedServers => _servers.Count + _rejections.Count;

    private static void RememberBounded<TValue>(ConcurrentDictionary<string, TValue> remembered, string key)
    {
        if (remembered.Count >= MaxRememberedServers && !remembered.ContainsKey(key))
        {
            remembered.Clear();
        }
    }

    /// <summary>A SPIFFE server: its SVID chains to its trust domain's bundle and its ID is the expected one; host names are not used.</summary>
    private string? ValidateSvid(X509Certificate? certificate, X509Chain? chain)
    {
        SvidValidationResult result = _validator.Validate(certificate as X509Certificate2, chain?.ChainPolicy.ExtraStore, PeerSide.Server);
        if (!result.IsValid)
        {
            ClientLog.ServerCertificateRejected(_logger, _clientName, result.Failure, result.Detail ?? string.Empty);
            _metrics?.PeerCertificateRefused(result.Failure, PeerSide.Server);
            return $"{result.Failure} ({result.Detail})";
        }

        if (!_expectedServer!.IsAuthorized(result.SpiffeId))
        {
            ClientLog.UnexpectedServer(_logger, _clientName, result.SpiffeId, _expectedServer);
            _metrics?.PeerCertificateRefused(SvidValidationFailure.UnexpectedSpiffeId, PeerSide.Server);
            return $"{SvidValidationFailure.UnexpectedSpiffeId} (the server is {result.SpiffeId}, expected {_expectedServer})";
        }

        return null;
    }

    /// <summary>
    /// A server with a certificate of an internal CA: the chain is built against the configured CA file only (custom
    /// root trust, the presented intermediates, offline, server-authentication EKU) and the platform's host-name check
    /// must have passed, as for any HTTPS server.
    /// </summary>
    private string? ValidateAgainstCaBundle(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        string? rejection;
        if (certificate is not X509Certificate2 leaf || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            rejection = nameof(SslPolicyErrors.RemoteCertificateNotAvailable);
        }
        else if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            rejection = $"{nameof(SslPolicyErrors.RemoteCertificateNameMismatch)} (the certificate does not name the host of the address)";
        }
        else
        {
            using var chain = new X509Chain();
            X509ChainPolicy policy = chain.ChainPolicy;
            policy.TrustMode = X509ChainTrustMode.CustomRootTrust; // the configured CA file only, never the system store
            policy.CustomTrustStore.AddRange(_serverCaBundle!);
            policy.RevocationMode = X509RevocationMode.NoCheck;
            policy.DisableCertificateDownloads = true;
            policy.VerificationTime = _timeProvider.GetUtcNow().UtcDateTime;
            policy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ServerAuthenticationOid));
            if (presented is not null)
            {
                policy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            }

            rejection = chain.Build(leaf) ? null : $"{nameof(SslPolicyErrors.RemoteCertificateChainErrors)} ({DescribeChainStatus(chain)}) against the configured CA file";
        }

        if (rejection is not null)
        {
            ClientLog.ServerCertificateRefused(_logger, _clientName, rejection);
        }

        return rejection;
    }

    /// <summary>An ordinary HTTPS server: the platform's verdict (system trust store, host name), kept with its reason.</summary>
    private string? DescribePlatformErrors(SslPolicyErrors errors, X509Chain? chain)
    {
        if (errors == SslPolicyErrors.None)
        {
            return null;
        }

        string rejection = (errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0 && chain is not null
            ? $"{errors} ({DescribeChainStatus(chain)})"
            : errors.ToString();
        ClientLog.ServerCertificateRefused(_logger, _clientName, rejection);
        return rejection;
    }

    private static string DescribeChainStatus(X509Chain chain)
    {
        X509ChainStatusFlags flags = X509ChainStatusFlags.NoError;
        foreach (X509ChainStatus status in chain.ChainStatus)
        {
            flags |= status.Status;
        }

        return flags.ToString();
    }

    private const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1";

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
                _previous?.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private sealed record ServerConnection(string? SpiffeId, string? TlsVersion);

    private sealed class ConnectionPool(WorkloadCertificate certificate, SocketsHttpHandler handler) : IDisposable
    {
        public WorkloadCertificate Certificate { get; } = certificate;

        public HttpMessageInvoker Invoker { get; } = new(handler, disposeHandler: true);

        /// <summary>Timestamp of the last request that picked this pool after it stopped being current (under the swap lock).</summary>
        public long LastUsed { get; set; }

        public bool DrainScheduled { get; set; }

        public bool Disposed { get; private set; }

        public void Dispose()
        {
            Disposed = true;
            Invoker.Dispose();
        }
    }
}
