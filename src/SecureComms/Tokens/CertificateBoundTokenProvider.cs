using System.Diagnostics;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// Identifies a cached token: a rotated certificate (new thumbprint) gets a new, correctly bound token; an exchanged token
/// is cached per subject token (its SHA-256). <paramref name="Server"/> is the configured token endpoint or authority, so
/// the key is known before discovery and discovery runs inside the token's single flight.
/// </summary>
internal readonly record struct TokenCacheKey(string Server, string ClientId, string? Scope, string? Resource, string? Audience, string CertificateThumbprint, string? SubjectDigest = null);

/// <summary>
/// Hands out certificate-bound access tokens for one outbound client: cached until shortly before expiry, renewed
/// ahead of time, requested once however many callers need it at the same moment (single flight, discovery included),
/// kept in use while still valid when the authorization server is unavailable, not requested again for a growing
/// back-off after a failure, and, after the workload certificate rotated, the previous certificate and its token kept in
/// use (make before break) until the token for the new certificate is ready.
/// </summary>
internal sealed class CertificateBoundTokenProvider : IDisposable
{
    private static readonly TimeSpan DefaultRefreshBeforeExpiry = TimeSpan.FromSeconds(60);
    private const int MaxExchangedTokens = 10_000;

    private readonly string _clientName;
    private readonly AccessTokenOptions _options;
    private readonly ICertificateSource _certificates;
    private readonly ITokenRequester _endpoint;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SecureCommsMetrics? _metrics;
    private readonly ConcurrentDictionary<TokenCacheKey, CacheEntry> _cache = new();
    private readonly Uri _server;
    private readonly string _serverKey;
    private Snapshot? _snapshot;
    private TokenAcquisitionStatus _status = TokenAcquisitionStatus.NotYetRequested;

    public CertificateBoundTokenProvider(
        string clientName,
        AccessTokenOptions options,
        ICertificateSource certificates,
        ITokenRequester endpoint,
        TimeProvider timeProvider,
        ILogger logger,
        SecureCommsMetrics? metrics = null)
    {
        _clientName = clientName;
        _metrics = metrics;
        _options = options;
        _certificates = certificates;
        _endpoint = endpoint;
        _timeProvider = timeProvider;
        _logger = logger;
        _server = options.TokenEndpoint ?? options.Authority ?? endpoint.KnownTokenEndpoint ?? throw new ArgumentException("A token endpoint or an authority is required.", nameof(options));
        _serverKey = _server.ToString();
    }

    internal ITokenRequester Endpoint => _endpoint;

    /// <summary>The token endpoint for spans and logs: the discovered one once known, else the configured address.</summary>
    private Uri EndpointForTelemetry => _endpoint.KnownTokenEndpoint ?? _server;

    /// <summary>What the last request to the token endpoint did, for health checks.</summary>
    public TokenAcquisitionStatus Status => Volatile.Read(ref _status);

    /// <summary>A token bound to the current workload certificate.</summary>
    /// <exception cref="TokenAcquisitionException">No valid token could be obtained; do not send the request.</exception>
    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken)
    {
        WorkloadCertificate certificate = _certificates.Current;
        Snapshot? snapshot = Volatile.Read(ref _snapshot);
        if (snapshot is not null && ReferenceEquals(snapshot.Certificate, certificate) && _timeProvider.GetUtcNow() < snapshot.RefreshAt)
        {
            RecordCacheHit();
            return new ValueTask<AccessToken>(snapshot.Token); // the hot path: no lock, no allocation
        }

        return new ValueTask<AccessToken>(GetTokenSlowAsync(certificate, null, cancellationToken));
    }

    /// <summary>
    /// A token exchanged for <paramref name="subjectToken"/> (RFC 8693), bound to the current workload certificate;
    /// cached per subject token until shortly before expiry, one request however many callers need it at once.
    /// </summary>
    /// <exception cref="TokenAcquisitionException">No valid token could be obtained; do not send the request.</exception>
    public Task<AccessToken> GetExchangedTokenAsync(string subjectToken, CancellationToken cancellationToken) =>
        GetTokenSlowAsync(_certificates.Current, subjectToken, cancellationToken);

    /// <summary>Drops <paramref name="token"/> after a receiver called it invalid, so the next call fetches a new one.</summary>
    public void Invalidate(AccessToken token)
    {
        Snapshot? snapshot = Volatile.Read(ref _snapshot);
        if (snapshot is not null && ReferenceEquals(snapshot.Token, token))
        {
            Interlocked.CompareExchange(ref _snapshot, null, snapshot);
        }

        foreach (CacheEntry entry in _cache.Values)
        {
            lock (entry.Gate)
            {
                if (ReferenceEquals(entry.Token, token))
                {
                    entry.Token = null;
                }
            }
        }
    }

    private async Task<AccessToken> GetTokenSlowAsync(WorkloadCertificate certificate, string? subjectToken, CancellationToken cancellationToken)
    {
        string? subjectDigest = subjectToken is null ? null : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(subjectToken)));
        var key = new TokenCacheKey(_serverKey, _options.ClientId ?? string.Empty, _options.Scope, _options.Resource?.OriginalString, _options.Audience, certificate.Sha256Thumbprint, subjectDigest);
        if (subjectDigest is not null && _cache.Count >= MaxExchangedTokens)
        {
            PruneExchangedTokens();
        }

        CacheEntry entry = _cache.GetOrAdd(key, static _ => new CacheEntry());
        DateTimeOffset now = _timeProvider.GetUtcNow();
        Task<AccessToken> refresh;
        AccessToken? cached;
        lock (entry.Gate)
        {
            cached = entry.Token;
            if (cached is not null && now < RefreshAt(cached))
            {
                if (subjectToken is null)
                {
                    Publish(certificate, cached);
                }

                TokenLog.CacheHit(_logger, _clientName);
                RecordCacheHit();
                return cached;
            }

            bool stillValid = cached is not null && now < cached.ExpiresAt;
            if (entry.Inflight is null && now < entry.RetryAt)
            {
                // The failure back-off: a request for this token failed moments ago, so none is sent now.
                if (stillValid)
                {
                    RecordCacheHit();
                    return cached!;
                }

                if (subjectToken is null && TryPreviousPair(certificate, now) is { } previous)
                {
                    RecordCacheHit();
                    return previous;
                }

                throw BackedOff(entry);
            }

            refresh = entry.Inflight ??= FetchAsync(entry, certificate, cached is null ? "miss" : "refresh", subjectToken);
        }

        if (cached is not null && now < cached.ExpiresAt)
        {
            // Refresh ahead of expiry in the background; this caller keeps the still-valid token.
            RecordCacheHit();
            return cached;
        }

        if (subjectToken is null && TryPreviousPair(certificate, now) is { } kept)
        {
            // Make before break: the certificate rotated and its token is being requested; until it is ready, the
            // previous certificate and the token bound to it (both still valid) carry on, on the previous connections.
            TokenLog.KeepingPreviousPair(_logger, _clientName, kept.CertificateThumbprint);
            RecordCacheHit();
            return kept;
        }

        return await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The token of the published pair when it belongs to an earlier certificate than <paramref name="certificate"/>
    /// and both that token and that certificate are still valid; null otherwise.
    /// </summary>
    private AccessToken? TryPreviousPair(WorkloadCertificate certificate, DateTimeOffset now)
    {
        Snapshot? snapshot = Volatile.Read(ref _snapshot);
        return snapshot is not null
            && !ReferenceEquals(snapshot.Certificate, certificate)
            && now < snapshot.Token.ExpiresAt
            && now < snapshot.Certificate.NotAfter
            ? snapshot.Token
            : null;
    }

    /// <summary>The failure a call gets during the back-off: the last error, saying that no request was sent.</summary>
    private TokenAcquisitionException BackedOff(CacheEntry entry)
    {
        TokenAcquisitionException last = entry.LastFailure!;
        TokenLog.BackingOff(_logger, _clientName, entry.RetryAt, entry.Failures, last.Error);
        _metrics?.TokenAcquisition(_clientName, SecureCommsTelemetry.Results.BackedOff, duration: null);
        string retryAt = entry.RetryAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return new TokenAcquisitionException(
            last.Error,
            $"{last.ErrorDescription ?? "no description"} [no request sent: {entry.Failures} consecutive failure(s), next attempt after {retryAt}]",
            last.TokenEndpoint,
            last);
    }

    private async Task<AccessToken> FetchAsync(CacheEntry entry, WorkloadCertificate certificate, string reason, string? subjectToken)
    {
        await Task.Yield(); // never run the request on the caller's lock
        string result = reason == "miss" ? SecureCommsTelemetry.Results.Acquired : SecureCommsTelemetry.Results.Refreshed;
        using Activity? span = StartSpan(EndpointForTelemetry);
        long started = _timeProvider.GetTimestamp();
        try
        {
            // Discovery runs here, inside the single flight, the span, the metric and the failure log of the request.
            Uri endpoint = await _endpoint.GetTokenEndpointAsync(CancellationToken.None).ConfigureAwait(false);
            TokenLog.Requesting(_logger, _clientName, reason, endpoint);
            AccessToken token = await _endpoint.RequestTokenAsync(endpoint, certificate, CancellationToken.None, subjectToken).ConfigureAwait(false);
            span?.SetTag(SecureCommsTelemetry.Tags.Result, result);
            _metrics?.TokenAcquisition(_clientName, result, _timeProvider.GetElapsedTime(started));
            lock (entry.Gate)
            {
                entry.Token = token;
                entry.Inflight = null;
                entry.Failures = 0;
                entry.RetryAt = default;
                entry.LastFailure = null;
            }

            if (subjectToken is null)
            {
                Publish(certificate, token);
            }

            Volatile.Write(ref _status, new TokenAcquisitionStatus(_timeProvider.GetUtcNow(), null, null, token.ExpiresAt));
            if (_endpoint is not JwtSvidTokenRequester)
            {
                // A JWT-SVID is bound to no certificate: its requester logs event 1830 (SPIFFE ID, audience) instead.
                TokenLog.Acquired(_logger, _clientName, token.ExpiresAt, certificate.Sha256Thumbprint);
            }

            return token;
        }
        catch (TokenAcquisitionException ex)
        {
            span?.SetTag(SecureCommsTelemetry.Tags.Result, SecureCommsTelemetry.Results.Failed);
            span?.SetTag(SecureCommsTelemetry.Tags.ErrorType, ex.Error);
            span?.SetStatus(ActivityStatusCode.Error, ex.Error);
            _metrics?.TokenAcquisition(_clientName, SecureCommsTelemetry.Results.Failed, _timeProvider.GetElapsedTime(started));
            DateTimeOffset failedAt = _timeProvider.GetUtcNow();
            lock (entry.Gate)
            {
                entry.Inflight = null;
                entry.Failures++;
                entry.RetryAt = failedAt + Backoff(entry.Failures);
                entry.LastFailure = ex;
            }

            TokenAcquisitionStatus previous = Volatile.Read(ref _status);
            Volatile.Write(ref _status, previous with { LastFailure = failedAt, LastError = ex.Error });

            TokenLog.Failed(_logger, _clientName, ex.Error, ex.ErrorDescription ?? string.Empty, ex.TokenEndpoint ?? _server);
            throw;
        }
        catch
        {
            lock (entry.Gate)
            {
                entry.Inflight = null; // an unexpected failure must not leave a faulted request behind for every later caller
            }

            throw;
        }
    }

    /// <summary>
    /// The pause after the <paramref name="failures"/>-th consecutive failure: <see cref="AccessTokenOptions.FailureBackoff"/>
    /// doubled for each earlier failure, at most <see cref="AccessTokenOptions.MaxFailureBackoff"/>.
    /// </summary>
    private TimeSpan Backoff(int failures)
    {
        TimeSpan pause = _options.FailureBackoff;
        TimeSpan max = _options.MaxFailureBackoff > pause ? _options.MaxFailureBackoff : pause;
        for (int i = 1; i < failures && pause < max; i++)
        {
            pause += pause;
        }

        return pause < max ? pause : max;
    }

    /// <summary>Many distinct users: drop exchanged tokens that expired, then, if still full, every idle one.</summary>
    private void PruneExchangedTokens()
    {
        DateTimeOffset now = _timeProvider.GetUtcNow();
        foreach (bool expiredOnly in new[] { true, false })
        {
            foreach ((TokenCacheKey key, CacheEntry entry) in _cache)
            {
                if (key.SubjectDigest is not null && entry.Inflight is null && (!expiredOnly || entry.Token is null || entry.Token.ExpiresAt <= now))
                {
                    _cache.TryRemove(key, out _);
                }
            }

            if (_cache.Count < MaxExchangedTokens)
            {
                return;
            }
        }
    }

    private void Publish(WorkloadCertificate certificate, AccessToken token) =>
        Volatile.Write(ref _snapshot, new Snapshot(certificate, token, RefreshAt(token)));

    private Activity? StartSpan(Uri endpoint)
    {
        Activity? span = SecureCommsActivitySource.Instance.StartActivity(SecureCommsTelemetry.Spans.TokenAcquisition, ActivityKind.Internal);
        if (span is not null)
        {
            span.SetTag(SecureCommsTelemetry.Tags.ClientName, _clientName);
            span.SetTag(SecureCommsTelemetry.Tags.ServerAddress, endpoint.Host);
            span.SetTag("url.full", endpoint.GetLeftPart(UriPartial.Path));
        }

        return span;
    }

    /// <summary>A cached token served: counted, and a zero-length span when someone listens.</summary>
    private void RecordCacheHit()
    {
        _metrics?.TokenAcquisition(_clientName, SecureCommsTelemetry.Results.CacheHit, duration: null);
        using Activity? span = SecureCommsActivitySource.Instance.HasListeners() ? StartSpan(EndpointForTelemetry) : null;
        span?.SetTag(SecureCommsTelemetry.Tags.Result, SecureCommsTelemetry.Results.CacheHit);
    }

    private DateTimeOffset RefreshAt(AccessToken token)
    {
        TimeSpan lifetime = token.ExpiresAt - token.IssuedAt;
        TimeSpan before = _options.RefreshBeforeExpiry
            ?? (lifetime / 10 < DefaultRefreshBeforeExpiry ? lifetime / 10 : DefaultRefreshBeforeExpiry);

        // The server decides the lifetime: a token shorter than the configured margin would be renewed as soon as it
        // arrived, by every call, one request after the other. Such a token is renewed at half its lifetime.
        TimeSpan halfLifetime = lifetime / 2;
        return token.ExpiresAt - (before < halfLifetime ? before : halfLifetime);
    }

    public void Dispose() => _endpoint.Dispose();

    /// <summary>The outcome of the last token request of one client.</summary>
    /// <param name="LastSuccess">When a token was last obtained; null if never.</param>
    /// <param name="LastFailure">When the last request failed, if it did after <paramref name="LastSuccess"/>; null otherwise.</param>
    /// <param name="LastError">The OAuth error or failure class of that failure (never a token or description text).</param>
    /// <param name="TokenExpiresAt">Expiry of the last token obtained; it stays in use until then.</param>
    internal sealed record TokenAcquisitionStatus(DateTimeOffset? LastSuccess, DateTimeOffset? LastFailure, string? LastError, DateTimeOffset? TokenExpiresAt)
    {
        public static TokenAcquisitionStatus NotYetRequested { get; } = new(null, null, null, null);
    }

    private sealed record Snapshot(WorkloadCertificate Certificate, AccessToken Token, DateTimeOffset RefreshAt);

    private sealed class CacheEntry
    {
        public Lock Gate { get; } = new();

        public AccessToken? Token { get; set; }

        public Task<AccessToken>? Inflight { get; set; }

        /// <summary>No request before this instant: the failure back-off.</summary>
        public DateTimeOffset RetryAt { get; set; }

        /// <summary>Consecutive failures since the last success.</summary>
        public int Failures { get; set; }

        public TokenAcquisitionException? LastFailure { get; set; }
    }
}
