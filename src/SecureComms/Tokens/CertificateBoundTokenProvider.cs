using System.Diagnostics;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Identifies a cached token: a rotated certificate (new thumbprint) gets a new, correctly bound token; an exchanged token is cached per subject token (its SHA-256).</summary>
internal readonly record struct TokenCacheKey(string TokenEndpoint, string ClientId, string? Scope, string? Resource, string? Audience, string CertificateThumbprint, string? SubjectDigest = null);

/// <summary>
/// Hands out certificate-bound access tokens for one outbound client: cached until shortly before expiry, renewed
/// ahead of time, requested once however many callers need it at the same moment (single flight), and kept in use
/// while still valid when the authorization server is unavailable.
/// </summary>
internal sealed class CertificateBoundTokenProvider : IDisposable
{
    private static readonly TimeSpan DefaultRefreshBeforeExpiry = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FailedRefreshPause = TimeSpan.FromSeconds(5);
    private const int MaxExchangedTokens = 10_000;

    private readonly string _clientName;
    private readonly AccessTokenOptions _options;
    private readonly ICertificateSource _certificates;
    private readonly TokenEndpointClient _endpoint;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SecureCommsMetrics? _metrics;
    private readonly ConcurrentDictionary<TokenCacheKey, CacheEntry> _cache = new();
    private Snapshot? _snapshot;
    private TokenAcquisitionStatus _status = TokenAcquisitionStatus.NotYetRequested;

    public CertificateBoundTokenProvider(
        string clientName,
        AccessTokenOptions options,
        ICertificateSource certificates,
        TokenEndpointClient endpoint,
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
    }

    internal TokenEndpointClient Endpoint => _endpoint;

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
            RecordCacheHit(snapshot.Endpoint);
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
        Uri endpoint = await _endpoint.GetTokenEndpointAsync(cancellationToken).ConfigureAwait(false);
        string? subjectDigest = subjectToken is null ? null : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(subjectToken)));
        var key = new TokenCacheKey(endpoint.ToString(), _options.ClientId!, _options.Scope, _options.Resource?.OriginalString, _options.Audience, certificate.Sha256Thumbprint, subjectDigest);
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
                    Publish(certificate, cached, endpoint);
                }

                TokenLog.CacheHit(_logger, _clientName);
                RecordCacheHit(endpoint);
                return cached;
            }

            bool stillValid = cached is not null && now < cached.ExpiresAt;
            if (stillValid && entry.Inflight is null && now < entry.NextRefreshAttempt)
            {
                RecordCacheHit(endpoint);
                return cached!; // a refresh failed moments ago; keep using the valid token for a little while
            }

            refresh = entry.Inflight ??= FetchAsync(entry, endpoint, certificate, cached is null ? "miss" : "refresh", subjectToken);
        }

        if (cached is not null && now < cached.ExpiresAt)
        {
            // Refresh ahead of expiry in the background; this caller keeps the still-valid token.
            RecordCacheHit(endpoint);
            return cached;
        }

        return await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<AccessToken> FetchAsync(CacheEntry entry, Uri endpoint, WorkloadCertificate certificate, string reason, string? subjectToken)
    {
        await Task.Yield(); // never run the request on the caller's lock
        string result = reason == "miss" ? SecureCommsTelemetry.Results.Acquired : SecureCommsTelemetry.Results.Refreshed;
        using Activity? span = StartSpan(endpoint);
        long started = _timeProvider.GetTimestamp();
        try
        {
            TokenLog.Requesting(_logger, _clientName, reason, endpoint);
            AccessToken token = await _endpoint.RequestTokenAsync(endpoint, certificate, CancellationToken.None, subjectToken).ConfigureAwait(false);
            span?.SetTag(SecureCommsTelemetry.Tags.Result, result);
            _metrics?.TokenAcquisition(_clientName, result, _timeProvider.GetElapsedTime(started));
            lock (entry.Gate)
            {
                entry.Token = token;
                entry.Inflight = null;
            }

            if (subjectToken is null)
            {
                Publish(certificate, token, endpoint);
            }

            Volatile.Write(ref _status, new TokenAcquisitionStatus(_timeProvider.GetUtcNow(), null, null, token.ExpiresAt));
            TokenLog.Acquired(_logger, _clientName, token.ExpiresAt, certificate.Sha256Thumbprint);
            return token;
        }
        catch (TokenAcquisitionException ex)
        {
            span?.SetTag(SecureCommsTelemetry.Tags.Result, SecureCommsTelemetry.Results.Failed);
            span?.SetTag(SecureCommsTelemetry.Tags.ErrorType, ex.Error);
            span?.SetStatus(ActivityStatusCode.Error, ex.Error);
            _metrics?.TokenAcquisition(_clientName, SecureCommsTelemetry.Results.Failed, _timeProvider.GetElapsedTime(started));
            lock (entry.Gate)
            {
                entry.Inflight = null;
                entry.NextRefreshAttempt = _timeProvider.GetUtcNow() + FailedRefreshPause;
            }

            TokenAcquisitionStatus previous = Volatile.Read(ref _status);
            Volatile.Write(ref _status, previous with { LastFailure = _timeProvider.GetUtcNow(), LastError = ex.Error });

            TokenLog.Failed(_logger, _clientName, ex.Error, ex.ErrorDescription ?? string.Empty, endpoint);
            throw;
        }
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

    private void Publish(WorkloadCertificate certificate, AccessToken token, Uri endpoint) =>
        Volatile.Write(ref _snapshot, new Snapshot(certificate, token, RefreshAt(token), endpoint));

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
    private void RecordCacheHit(Uri endpoint)
    {
        _metrics?.TokenAcquisition(_clientName, SecureCommsTelemetry.Results.CacheHit, duration: null);
        using Activity? span = StartSpan(endpoint);
        span?.SetTag(SecureCommsTelemetry.Tags.Result, SecureCommsTelemetry.Results.CacheHit);
    }

    private DateTimeOffset RefreshAt(AccessToken token)
    {
        TimeSpan lifetime = token.ExpiresAt - token.IssuedAt;
        TimeSpan before = _options.RefreshBeforeExpiry
            ?? (lifetime / 10 < DefaultRefreshBeforeExpiry ? lifetime / 10 : DefaultRefreshBeforeExpiry);
        return token.ExpiresAt - before;
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

    private sealed record Snapshot(WorkloadCertificate Certificate, AccessToken Token, DateTimeOffset RefreshAt, Uri Endpoint);

    private sealed class CacheEntry
    {
        public Lock Gate { get; } = new();

        public AccessToken? Token { get; set; }

        public Task<AccessToken>? Inflight { get; set; }

        public DateTimeOffset NextRefreshAttempt { get; set; }
    }
}
