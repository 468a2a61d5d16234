using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace SecureComms;

/// <summary>
/// A cache of results keyed by what a caller sends (a token's digest, a forwarded header's digest, a SPIFFE ID), so
/// bounded both ways: an entry is served only until its expiry, and the cache never holds more than its capacity.
/// When an insertion finds it full, one sweep brings it down to three quarters of its capacity: first every expired
/// entry goes, then entries not read since they were added or last spared (a CLOCK, second-chance pass: a read entry is
/// spared once and must be read again to be spared again), then, only if still needed, any entries. A flood of distinct
/// keys that are never read again therefore evicts itself and leaves the entries in use (the callers' hot tokens) in
/// place, without a sort or a lock on the read path; a sweep costs one pass per quarter of the capacity inserted.
/// Insertions racing past a full cache may each add their entry before the sweep (the bound is the capacity plus the
/// insertions running at that moment); the next insertion sweeps back below it.
/// </summary>
/// <typeparam name="TKey">The key: a digest or an identifier, never a secret itself.</typeparam>
/// <typeparam name="TValue">What a hit returns.</typeparam>
internal sealed class BoundedCache<TKey, TValue>
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries;
    private readonly Lock _sweepGate = new();

    /// <param name="capacity">The most entries held; 0 disables the cache (nothing is remembered).</param>
    /// <param name="comparer">Key equality, or the default one.</param>
    public BoundedCache(int capacity, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Capacity = capacity;
        _entries = new ConcurrentDictionary<TKey, Entry>(comparer);
    }

    /// <summary>The most entries held.</summary>
    public int Capacity { get; }

    /// <summary>Whether anything is remembered at all.</summary>
    public bool Enabled => Capacity > 0;

    /// <summary>The entries held now, expired ones not yet swept included.</summary>
    public int Count => _entries.Count;

    /// <summary>The value of <paramref name="key"/> while it has not expired at <paramref name="now"/>; an expired entry is dropped.</summary>
    public bool TryGet(TKey key, DateTimeOffset now, [MaybeNullWhen(false)] out TValue value)
    {
        if (_entries.TryGetValue(key, out Entry? entry))
        {
            if (now < entry.ExpiresAt)
            {
                entry.MarkRead();
                value = entry.Value;
                return true;
            }

            _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
        }

        value = default;
        return false;
    }

    /// <summary>Remembers <paramref name="value"/> until <paramref name="expiresAt"/>; nothing when the cache is disabled or the value already expired.</summary>
    public void Set(TKey key, TValue value, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        if (!Enabled || expiresAt <= now)
        {
            return;
        }

        if (_entries.Count >= Capacity && !_entries.ContainsKey(key))
        {
            Sweep(now);
        }

        _entries[key] = new Entry(value, expiresAt);
    }

    /// <summary>Forgets <paramref name="key"/>.</summary>
    public void Remove(TKey key) => _entries.TryRemove(key, out _);

    private void Sweep(DateTimeOffset now)
    {
        lock (_sweepGate)
        {
            int count = _entries.Count;
            if (count < Capacity)
            {
                return; // another insertion swept meanwhile
            }

            int target = Capacity - Math.Max(1, Capacity / 4);
            foreach (KeyValuePair<TKey, Entry> pair in _entries)
            {
                if (pair.Value.ExpiresAt <= now && _entries.TryRemove(pair))
                {
                    count--;
                }
            }

            // Second chance: an entry read since the last sweep stays (and must be read again to stay next time).
            foreach (KeyValuePair<TKey, Entry> pair in _entries)
            {
                if (count <= target)
                {
                    break;
                }

                if (!pair.Value.TakeRead() && _entries.TryRemove(pair))
                {
                    count--;
                }
            }

            foreach (KeyValuePair<TKey, Entry> pair in _entries)
            {
                if (count <= target)
                {
                    break;
                }

                if (_entries.TryRemove(pair))
                {
                    count--;
                }
            }
        }
    }

    private sealed class Entry(TValue value, DateTimeOffset expiresAt)
    {
        private int _read;

        public TValue Value { get; } = value;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public void MarkRead()
        {
            if (Volatile.Read(ref _read) == 0)
            {
                Volatile.Write(ref _read, 1); // written once per sweep period, not on every hit
            }
        }

        /// <summary>Whether the entry was read since the last sweep; clears the mark for the next one.</summary>
        public bool TakeRead() => Interlocked.Exchange(ref _read, 0) == 1;
    }
}
