using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms;

/// <summary>
/// The issuer's metadata and signing keys (RFC 8414 metadata, then its JWKS) for the internal JwtBearer scheme, held as
/// one snapshot that requests read without a lock. SecureComms owns this instead of JwtBearer's
/// <c>ConfigurationManager</c> so that a key rotation refuses no request: on an unknown <c>kid</c>,
/// <see cref="RefreshForUnknownKeyAsync"/> fetches the keys now and hands them back, and the same request is validated
/// again (<see cref="AccessTokenHandler"/>). IdentityModel 8's manager may refresh in the background and return the old
/// configuration to the request that asked, which then fails.
/// </summary>
/// <remarks>
/// <para>When the keys are read: on the first token (every request waits for that one fetch); then again in the
/// background once the snapshot is older than <see cref="AutomaticRefreshInterval"/> (requests keep using the old
/// snapshot meanwhile); and on a token whose <c>kid</c> is not in the snapshot, at most once per
/// <see cref="SecureCommsTokenValidationOptions.KeyRefreshMinInterval"/>, so that made-up key ids cannot make this
/// service hammer the issuer. Only one fetch runs at a time: everyone who needs it awaits the same one.</para>
/// <para>A failed fetch keeps the last good keys, and the scheduled refresh is tried again no sooner than the minimum
/// interval. With no keys yet, a failed fetch is retried on a later request, no sooner than
/// <see cref="RetryAfterFailure"/> (or the minimum interval when that is shorter); requests meanwhile are refused with
/// <see cref="IssuerKeysUnavailableException"/>.</para>
/// </remarks>
internal sealed class IssuerSigningKeys : IConfigurationManager<OpenIdConnectConfiguration>
{
    /// <summary>How old a snapshot may grow before it is fetched again in the background (JwtBearer's default, 12 hours).</summary>
    internal static readonly TimeSpan AutomaticRefreshInterval = BaseConfigurationManager.DefaultAutomaticRefreshInterval;

    /// <summary>While no keys are known, the least time between two failed fetches.</summary>
    internal static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);

    private readonly Func<(string Address, HttpClient Backchannel)> _endpoint;
    private readonly Func<OpenIdConnectConfiguration?> _fixed;
    private readonly TimeSpan _minInterval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Snapshot? _current;
    private Task<Snapshot?>? _inFlight;
    private DateTimeOffset _lastUnknownKeyRefresh = DateTimeOffset.MinValue;
    private DateTimeOffset _noFetchBefore = DateTimeOffset.MinValue;
    private int _fetches;

    /// <param name="endpoint">
    /// The metadata address and the HTTP client to fetch it with, read at the first fetch: JwtBearer builds its
    /// backchannel client after the options are configured.
    /// </param>
    /// <param name="fixedConfiguration">
    /// A configuration given in code (<c>JwtBearerOptions.Configuration</c>, as benchmarks and tests do): used as it is,
    /// never fetched nor refreshed.
    /// </param>
    /// <param name="minInterval">The least time between two refreshes caused by unknown key ids.</param>
    /// <param name="time">The clock for intervals.</param>
    /// <param name="logger">Where fetches and failures are logged (never key material).</param>
    public IssuerSigningKeys(
        Func<(string Address, HttpClient Backchannel)> endpoint,
        Func<OpenIdConnectConfiguration?> fixedConfiguration,
        TimeSpan minInterval,
        TimeProvider time,
        ILogger logger)
    {
        _endpoint = endpoint;
        _fixed = fixedConfiguration;
        _minInterval = minInterval;
        _time = time;
        _logger = logger;
    }

    /// <summary>How many metadata fetches were started, successful or not (for tests and diagnostics).</summary>
    internal int Fetches => Volatile.Read(ref _fetches);

    /// <summary>The configuration JwtBearer validates a request with: the current snapshot, or the first fetch.</summary>
    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        if (_fixed() is { } given)
        {
            return given;
        }

        Snapshot? current = Volatile.Read(ref _current);
        if (current is not null)
        {
            if (_time.GetUtcNow() - current.FetchedAt >= AutomaticRefreshInterval)
            {
                _ = StartFetch(); // in the background: this request goes on with the keys it has
            }

            return current.Configuration;
        }

        Task<Snapshot?>? first = StartFetch();
        Snapshot? fetched = first is null ? null : await first.WaitAsync(cancel).ConfigureAwait(false);
        return (fetched ?? Volatile.Read(ref _current))?.Configuration
            ?? throw new IssuerKeysUnavailableException("The issuer's signing keys could not be fetched.");
    }

    /// <summary>
    /// Does nothing: JwtBearer calls this after a failed validation, when <see cref="AccessTokenHandler"/> has already
    /// refreshed the keys (or been refused the refresh by the rate limit) and validated the token again.
    /// </summary>
    public void RequestRefresh()
    {
    }

    /// <summary>
    /// Called for a token whose <paramref name="keyId"/> matched no known key. Returns the keys to validate it again
    /// with when they now hold that key id: from a snapshot another request fetched meanwhile, from a fetch already in
    /// flight, or from a fetch started here when the last refresh of this kind is at least the minimum interval ago.
    /// Returns null when nothing newer holds the key (or the refresh was rate-limited).
    /// </summary>
    public async ValueTask<OpenIdConnectConfiguration?> RefreshForUnknownKeyAsync(string? keyId, CancellationToken cancel)
    {
        if (_fixed() is not null)
        {
            return null;
        }

        Snapshot? current = Volatile.Read(ref _current);
        if (keyId is not null && current is not null && Holds(current.Configuration, keyId))
        {
            return current.Configuration;
        }

        Task<Snapshot?>? fetch = null;
        DateTimeOffset nextAllowed;
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            nextAllowed = _lastUnknownKeyRefresh == DateTimeOffset.MinValue ? now : _lastUnknownKeyRefresh + _minInterval;
            if (_inFlight is { } running)
            {
                fetch = running;
            }
            else if (now >= nextAllowed)
            {
                _lastUnknownKeyRefresh = now;
                fetch = StartFetchLocked(now);
            }
        }

        if (fetch is null)
        {
            TokenValidationLog.KeyRefreshRateLimited(_logger, nextAllowed);
            return null;
        }

        Snapshot? refreshed = await fetch.WaitAsync(cancel).ConfigureAwait(false);
        return refreshed is not null && Holds(refreshed.Configuration, keyId) ? refreshed.Configuration : null;
    }

    private static bool Holds(OpenIdConnectConfiguration configuration, string? keyId)
    {
        if (keyId is null)
        {
            return true; // a token without kid is tried against every key of a fresh fetch
        }

        foreach (SecurityKey key in configuration.SigningKeys)
        {
            if (string.Equals(key.KeyId, keyId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private Task<Snapshot?>? StartFetch()
    {
        lock (_gate)
        {
            if (_inFlight is { } running)
            {
                return running;
            }

            DateTimeOffset now = _time.GetUtcNow();
            return now < _noFetchBefore ? null : StartFetchLocked(now);
        }
    }

    private Task<Snapshot?> StartFetchLocked(DateTimeOffset now)
    {
        Interlocked.Increment(ref _fetches);

        // Task.Run: the fetch never completes inside this lock, and no caller's cancellation stops the shared fetch
        // (the backchannel client's own timeout bounds it).
        Task<Snapshot?> fetch = Task.Run(() => FetchAsync(now));
        _inFlight = fetch;
        return fetch;
    }

    private async Task<Snapshot?> FetchAsync(DateTimeOffset started)
    {
        try
        {
            (string address, HttpClient backchannel) = _endpoint();
            var retriever = new HttpDocumentRetriever(backchannel) { RequireHttps = true };
            OpenIdConnectConfiguration configuration = await OpenIdConnectConfigurationRetriever.GetAsync(address, retriever, CancellationToken.None).ConfigureAwait(false);
            if (configuration.SigningKeys.Count == 0)
            {
                throw new InvalidOperationException("the issuer's JWKS holds no signing key.");
            }

            var snapshot = new Snapshot(configuration, _time.GetUtcNow());
            Volatile.Write(ref _current, snapshot);
            string keyIds = KeyIds(configuration); // once per fetch
            TokenValidationLog.SigningKeysFetched(_logger, configuration.SigningKeys.Count, keyIds);
            return snapshot;
        }
#pragma warning disable CA1031 // any failure keeps the last good keys and is logged; requests are refused, never failed with a 500
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // No request starts another fetch for a while (a refresh for an unknown kid has its own limit): with keys,
            // for the minimum interval; without, for a few seconds, since nothing can be validated meanwhile.
            bool haveKeys = Volatile.Read(ref _current) is not null;
            lock (_gate)
            {
                _noFetchBefore = started + (haveKeys || _minInterval < RetryAfterFailure ? _minInterval : RetryAfterFailure);
            }

            TokenValidationLog.SigningKeysFetchFailed(_logger, haveKeys, ex.GetType().Name, ex.Message);
            return null;
        }
        finally
        {
            lock (_gate)
            {
                _inFlight = null;
            }
        }
    }

    private static string KeyIds(OpenIdConnectConfiguration configuration) =>
        string.Join(", ", configuration.SigningKeys.Select(key => key.KeyId ?? "(no kid)"));

    private sealed record Snapshot(OpenIdConnectConfiguration Configuration, DateTimeOffset FetchedAt);
}

/// <summary>The issuer's signing keys could not be fetched and none are known yet: no token can be validated.</summary>
internal sealed class IssuerKeysUnavailableException(string message) : SecurityTokenException(message);
