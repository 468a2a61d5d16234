using System.Security.Claims;

namespace SecureComms.AspNetCore.Tests.TokenValidation.Introspection;

/// <summary>The introspection cache holds answers until they expire and never more than its capacity.</summary>
[TestClass]
public sealed class IntrospectionCacheTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [TestMethod]
    public void ManyLiveAnswers_NeverGrowTheCacheBeyondItsCapacity()
    {
        var cache = new IntrospectionCache(capacity: 8);

        for (int i = 0; i < 100; i++)
        {
            cache.Add(Sha256Key.Of($"token-{i}"), Active(), Now.AddMinutes(5), Now);
            Assert.IsLessThanOrEqualTo(8, cache.Count, $"after {i + 1} answers");
        }

        Assert.IsTrue(cache.TryGet(Sha256Key.Of("token-99"), Now, out _), "the newest answer is kept");
    }

    [TestMethod]
    public void FloodOfMadeUpTokens_ThreeTimesTheCapacity_KeepsTheAnswerForTheTokenInUse()
    {
        var cache = new IntrospectionCache(capacity: 8);
        Sha256Key hot = Sha256Key.Of("the caller's token");
        cache.Add(hot, Active(), Now.AddMinutes(5), Now);

        for (int i = 0; i < 24; i++)
        {
            cache.Add(Sha256Key.Of($"made-up-{i}"), new IntrospectionVerdict(null, AccessTokenFailure.Inactive), Now.AddSeconds(10), Now);
            Assert.IsTrue(cache.TryGet(hot, Now, out _), $"the answer in use after {i + 1} refusals");
            Assert.IsLessThanOrEqualTo(8, cache.Count);
        }
    }

    [TestMethod]
    public async Task CallsInFlight_AreForgotten_OnceTheyComplete()
    {
        var cache = new IntrospectionCache(capacity: 8);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = new List<Task<IntrospectionVerdict>>();
        for (int i = 0; i < 24; i++)
        {
            calls.Add(cache.GetOrIntrospectAsync(
                Sha256Key.Of($"token-{i}"),
                async () =>
                {
                    await release.Task;
                    return (new IntrospectionVerdict(null, AccessTokenFailure.Inactive), (DateTimeOffset?)null);
                },
                TimeProvider.System));
        }

        Assert.AreEqual(24, cache.InFlight, "one call per distinct token while they run");
        release.SetResult();
        await Task.WhenAll(calls);

        Assert.AreEqual(0, cache.InFlight);
        Assert.AreEqual(0, cache.Count, "a verdict without a cache time is not remembered");
    }

    [TestMethod]
    public void FullCache_DropsExpiredAnswersFirst()
    {
        var cache = new IntrospectionCache(capacity: 4);
        cache.Add(Sha256Key.Of("old-1"), Active(), Now.AddSeconds(10), Now);
        cache.Add(Sha256Key.Of("old-2"), Active(), Now.AddSeconds(10), Now);
        cache.Add(Sha256Key.Of("live-1"), Active(), Now.AddMinutes(5), Now);
        cache.Add(Sha256Key.Of("live-2"), Active(), Now.AddMinutes(5), Now);

        cache.Add(Sha256Key.Of("new"), Active(), Now.AddMinutes(5), Now.AddSeconds(20));

        Assert.AreEqual(3, cache.Count);
        Assert.IsTrue(cache.TryGet(Sha256Key.Of("live-1"), Now.AddSeconds(20), out _));
        Assert.IsTrue(cache.TryGet(Sha256Key.Of("live-2"), Now.AddSeconds(20), out _));
        Assert.IsTrue(cache.TryGet(Sha256Key.Of("new"), Now.AddSeconds(20), out _));
    }

    [TestMethod]
    public void Answer_HoldsUntilItsTime_ThenIsGone()
    {
        var cache = new IntrospectionCache(capacity: 4);
        cache.Add(Sha256Key.Of("refused"), new IntrospectionVerdict(null, AccessTokenFailure.Inactive), Now.AddSeconds(10), Now);

        Assert.IsTrue(cache.TryGet(Sha256Key.Of("refused"), Now.AddSeconds(9), out IntrospectionVerdict verdict));
        Assert.AreEqual(AccessTokenFailure.Inactive, verdict.Failure);
        Assert.IsFalse(cache.TryGet(Sha256Key.Of("refused"), Now.AddSeconds(10), out _));
        Assert.AreEqual(0, cache.Count);
    }

    [TestMethod]
    public void CapacityZero_RemembersNothing()
    {
        var cache = new IntrospectionCache(capacity: 0);

        cache.Add(Sha256Key.Of("token"), Active(), Now.AddMinutes(5), Now);

        Assert.AreEqual(0, cache.Count);
    }

    private static IntrospectionVerdict Active() =>
        new(ValidatedAccessToken.FromIntrospection([new Claim("sub", "orders")], Now.AddHours(1), "thumbprint", bindingMalformed: false), null);
}
