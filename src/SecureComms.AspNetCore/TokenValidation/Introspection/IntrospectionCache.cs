using System.Collections.Concurrent;

namespace SecureComms;

/// <summary>
/// Introspection answers for opaque access tokens, keyed by the SHA-256 of the token (never the token itself): an active
/// answer until the token's <c>exp</c> capped by <see cref="SecureCommsIntrospectionOptions.MaxCacheDuration"/>, a
/// refusal for <see cref="SecureCommsIntrospectionOptions.NegativeCacheDuration"/>, an unavailable endpoint never.
/// At most <see cref="SecureCommsIntrospectionOptions.MaxCacheEntries"/> entries; and one introspection call at a time
/// per token: requests that arrive while it runs await the same call.
/// </summary>
internal sealed class IntrospectionCache(int capacity)
{
    private readonly ConcurrentDictionary<Sha256Key, Entry> _entries = new();
    private readonly ConcurrentDictionary<Sha256Key, Task<IntrospectionVerdict>> _inFlight = new();
    private readonly Lock _evictionGate = new();
    private int _joined;

    internal int Count => _entries.Count;

    /// <summary>How many requests awaited a call another request had started for the same token (for tests and diagnostics).</summary>
    internal int JoinedCalls => Volatile.Read(ref _joined);

    internal int Capacity => capacity;

    /// <summary>The remembered verdict for this token digest, while it holds.</summary>
    public bool TryGet(in Sha256Key digest, DateTimeOffset now, out IntrospectionVerdict verdict)
    {
        if (_entries.TryGetValue(digest, out Entry? entry))
        {
            if (now < entry.Until)
            {
                verdict = entry.Verdict;
                return true;
            }

            _entries.TryRemove(new KeyValuePair<Sha256Key, Entry>(digest, entry));
        }

        verdict = default;
        return false;
    }

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

    internal void Add(in Sha256Key digest, IntrospectionVerdict verdict, DateTimeOffset until, DateTimeOffset now)
    {
        if (capacity == 0 || until <= now)
        {
            return;
        }

        if (_entries.Count >= capacity)
        {
            Evict(now);
        }

        _entries[digest] = new Entry(verdict, until);
    }

    /// <summary>
    /// Drops what no longer holds; when still full of live entries, drops a quarter of them (whichever come first),
    /// so that the bound holds without a sort, and a full cache does not send every token back to the server at once.
    /// </summary>
    private void Evict(DateTimeOffset now)
    {
        lock (_evictionGate)
        {
            if (_entries.Count < capacity)
            {
                return;
            }

            foreach (KeyValuePair<Sha256Key, Entry> entry in _entries)
            {
                if (entry.Value.Until <= now)
                {
                    _entries.TryRemove(entry);
                }
            }

            int target = capacity - Math.Max(1, capacity / 4);
            foreach (KeyValuePair<Sha256Key, Entry> entry in _entries)
            {
                if (_entries.Count <= target)
                {
                    break;
                }

                _entries.TryRemove(entry);
            }
        }
    }

    private sealed record Entry(IntrospectionVerdict Verdict, DateTimeOffset Until);
}

/// <summary>What introspection decided for a token: the validated token, or the <see cref="AccessTokenFailure"/> reason.</summary>
internal readonly record struct IntrospectionVerdict(ValidatedAccessToken? Token, string? Failure);
