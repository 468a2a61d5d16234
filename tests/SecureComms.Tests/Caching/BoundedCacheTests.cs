namespace SecureComms.Tests.Caching;

/// <summary>
/// The cache behind every cache keyed by what a caller sends: never more than its capacity, nothing served past its
/// expiry, and the entries in use kept through a flood of distinct keys.
/// </summary>
[TestClass]
public sealed class BoundedCacheTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [TestMethod]
    public void ThreeTimesItsCapacityInDistinctKeys_NeverHoldsMoreThanItsCapacity()
    {
        var cache = new BoundedCache<int, string>(capacity: 100);

        for (int key = 0; key < 300; key++)
        {
            cache.Set(key, "value", Now.AddHours(1), Now);
            Assert.IsLessThanOrEqualTo(100, cache.Count, $"after {key + 1} keys");
        }
    }

    [TestMethod]
    public void HotEntries_SurviveAFloodOfDistinctKeys_ThatAreNeverReadAgain()
    {
        var cache = new BoundedCache<string, string>(capacity: 100);
        string[] hot = ["hot-1", "hot-2", "hot-3"];
        foreach (string key in hot)
        {
            cache.Set(key, key, Now.AddHours(1), Now);
        }

        for (int i = 0; i < 300; i++)
        {
            cache.Set("flood-" + i, "flood", Now.AddHours(1), Now);
            if (i % 10 == 0)
            {
                foreach (string key in hot)
                {
                    Assert.IsTrue(cache.TryGet(key, Now, out _), $"{key} after {i} flooding keys");
                }
            }
        }

        foreach (string key in hot)
        {
            Assert.IsTrue(cache.TryGet(key, Now, out string? value));
            Assert.AreEqual(key, value);
        }

        Assert.IsLessThanOrEqualTo(100, cache.Count);
    }

    [TestMethod]
    public void ExpiredEntry_IsNeverServed_AndIsRemovedWhenFound()
    {
        var cache = new BoundedCache<string, string>(capacity: 10);
        cache.Set("short", "value", Now.AddSeconds(10), Now);

        Assert.IsTrue(cache.TryGet("short", Now.AddSeconds(9), out _));
        Assert.IsFalse(cache.TryGet("short", Now.AddSeconds(10), out _), "at its expiry");
        Assert.AreEqual(0, cache.Count);
    }

    [TestMethod]
    public void FullCache_DropsExpiredEntriesFirst_EvenWhenTheyWereRead()
    {
        var cache = new BoundedCache<int, string>(capacity: 8);
        for (int key = 0; key < 8; key++)
        {
            cache.Set(key, "value", key < 4 ? Now.AddSeconds(10) : Now.AddHours(1), Now);
            Assert.IsTrue(cache.TryGet(key, Now, out _));
        }

        cache.Set(100, "value", Now.AddHours(1), Now.AddMinutes(1));

        Assert.AreEqual(5, cache.Count, "the four expired entries went, the four live ones and the new one stay");
        for (int key = 4; key < 8; key++)
        {
            Assert.IsTrue(cache.TryGet(key, Now.AddMinutes(1), out _), $"live entry {key}");
        }
    }

    [TestMethod]
    public void AlreadyExpiredValue_IsNotRemembered()
    {
        var cache = new BoundedCache<string, string>(capacity: 10);

        cache.Set("late", "value", Now, Now);

        Assert.AreEqual(0, cache.Count);
    }

    [TestMethod]
    public void CapacityZero_RemembersNothing()
    {
        var cache = new BoundedCache<string, string>(capacity: 0);

        cache.Set("key", "value", Now.AddHours(1), Now);

        Assert.IsFalse(cache.Enabled);
        Assert.IsFalse(cache.TryGet("key", Now, out _));
    }

    [TestMethod]
    public void ConcurrentWriters_OvershootItsCapacityAtMostByTheInsertionsInFlight_AndTheNextInsertionSweepsBack()
    {
        var cache = new BoundedCache<int, int>(capacity: 64);
        int largest = 0;

        Parallel.For(0, 20_000, key =>
        {
            cache.Set(key, key, Now.AddHours(1), Now);
            int count = cache.Count;
            int seen;
            while (count > (seen = Volatile.Read(ref largest)) && Interlocked.CompareExchange(ref largest, count, seen) != seen)
            {
            }
        });
        cache.Set(-1, -1, Now.AddHours(1), Now);

        Assert.IsLessThanOrEqualTo(64 + 64, largest, "at most one entry more per insertion running at the same time");
        Assert.IsLessThanOrEqualTo(64, cache.Count);
    }
}
