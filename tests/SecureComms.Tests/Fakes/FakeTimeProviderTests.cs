namespace SecureComms.Tests.Fakes;

/// <summary>
/// What the tests rely on from <see cref="FakeTimeProvider"/> (Microsoft.Extensions.TimeProvider.Testing, which replaced
/// our own manual clock): time moves only when a test moves it, and a timer or <c>Task.Delay</c> on the clock fires
/// inside <see cref="FakeTimeProvider.Advance(TimeSpan)"/> once its due time is reached, never before.
/// </summary>
[TestClass]
public sealed class FakeTimeProviderTests
{
    [TestMethod]
    public void Timer_FiresOnlyWhenAdvancePassesItsDueTime()
    {
        var clock = new FakeTimeProvider();
        int fired = 0;
        using ITimer timer = clock.CreateTimer(_ => fired++, null, TimeSpan.FromMinutes(1), Timeout.InfiniteTimeSpan);

        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.AreEqual(0, fired);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.AreEqual(1, fired);

        clock.Advance(TimeSpan.FromHours(1));
        Assert.AreEqual(1, fired, "a one-shot timer fires once");
    }

    [TestMethod]
    public void PeriodicTimer_FiresOncePerPeriodCoveredByAJump()
    {
        var clock = new FakeTimeProvider();
        int fired = 0;
        using ITimer timer = clock.CreateTimer(_ => fired++, null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));

        clock.Advance(TimeSpan.FromSeconds(35));

        Assert.AreEqual(3, fired);
    }

    [TestMethod]
    public void DisposedTimer_NeverFires()
    {
        var clock = new FakeTimeProvider();
        int fired = 0;
        ITimer timer = clock.CreateTimer(_ => fired++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        timer.Dispose();

        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.AreEqual(0, fired);
        Assert.IsFalse(timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
    }

    [TestMethod]
    public async Task TaskDelay_CompletesWhenTheClockIsAdvanced()
    {
        var clock = new FakeTimeProvider();
        Task delay = Task.Delay(TimeSpan.FromSeconds(30), clock, TestContext.CancellationToken);

        Assert.IsFalse(delay.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(30));

        await delay.WaitAsync(TimeSpan.FromSeconds(5), TestContext.CancellationToken);
    }

    public TestContext TestContext { get; set; } = null!;
}
