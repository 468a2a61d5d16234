using System.Collections.Concurrent;

namespace SecureComms;

/// <summary>
/// Introspection answers for opaque access tokens, keyed by the SHA-256 of the token (never the token itself): an active
/// answer until the token's <c>exp</c> capped by <see cref="SecureCommsIntrospectionOptions.MaxCacheDuration"/>, a
/// refusal for <see cref="SecureCommsIntrospectionOptions.NegativeCacheDuration"/>, an unavailable endpoint never.
/// At most <see cref="SecureCommsIntrospectionOptions.MaxCacheEntries"/> entries (<see cref="BoundedCache{TKey, TValue}"/>:
/// when full, expired answers go first, then answers not used since the last sweep, so a flood of made-up tokens does
/// not push out the answers for the tokens callers keep presenting); and one introspection call at a time per token:
/// requests that arrive while it runs await the same call, so the calls in flight are at most the requests in flight.
/// </summary>
internal sealed class IntrospectionCache(int capacity)
{
    private readonly BoundedCache<Sha256Key, IntrospectionVerdict> _entries = new(capacity);
    private readonly ConcurrentDictionary<Sha256Key, Task<IntrospectionVerdict>> _inFlight = new();
    private int _joined;

    internal int Count => _entries.Count;

    /// <summary>How many requests awaited a call another request had started for the same token (for tests and diagnostics).</summary>
    internal int JoinedCalls => Volatile.Read(ref _joined);

    internal int Capacity => capacity;

    /// <summary>The introspection calls running now (for tests: each is removed when it completes).</summary>
    internal int InFlight => _inFlight.Count;

    /// <summary>The remembered verdict for this token digest, while it holds.</summary>
    public bool TryGet(in Sha256Key digest, DateTimeOffset now, out IntrospectionVerdict verdict) =>
        _entries.TryGet(digest, now, out verdict);

    /// <summary>
    /// The verdict for this token: remembered, or from the call already running for it, or from
    /// <paramref name="introspect"/>, started here and shared with every request that asks meanwhile. The verdict is
    /// remembered until <c>CacheUntil</c> of what <paramref name="introspect"/> returns (null: not at all).
    /// </summary>
    public async Task<IntrospectionVerdict> GetOrIntrospectAsync(Sha256Key digest, Func<Task<(IntrospectionVerdict Verdict, DateTimeOffset? CacheUntil)>> introspect, TimeProvider time)
    {
        var mine = new TaskCompletionSource<IntrospectionVerdict>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<IntrospectionVerdict> shared = _inFlight.GetOrAdd(digest, mine.Task);
        if (shared != mine.Task)
        {
            Interlocked.Increment(ref _joined);
            return await shared.ConfigureAwait(false);
        }

        try
        {
            // The call that just finished may have stored its verdict after this request missed the cache.
            if (TryGet(digest, time.GetUtcNow(), out IntrospectionVerdict known))
            {
                mine.SetResult(known);
                return known;
            }

            (IntrospectionVerdict verdict, DateTimeOffset? until) = await introspect().ConfigureAwait(false);
            if (until is { } cacheUntil)
            {
                Add(digest, verdict, cacheUntil, time.GetUtcNow());
            }

            mine.SetResult(verdict);
            return verdict;
        }
        catch (Exception ex)
        {
            mine.SetException(ex);
            throw;
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<Sha256Key, Task<IntrospectionVerdict>>(digest, mine.Task));
        }
    }

    internal void Add(in Sha256Key digest, IntrospectionVerdict verdict, DateTimeOffset until, DateTimeOffset now) =>
        _entries.Set(digest, verdict, until, now);
}

/// <summary>What introspection decided for a token: the validated token, or the <see cref="AccessTokenFailure"/> reason.</summary>
internal readonly record struct IntrospectionVerdict(ValidatedAccessToken? Token, string? Failure);
