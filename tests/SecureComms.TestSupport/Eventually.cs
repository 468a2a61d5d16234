using System.Diagnostics;
using Microsoft.Extensions.Primitives;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace SecureComms.TestSupport;

/// <summary>
/// Waits for something that happens on another thread (a file watcher, a background renewal, a configuration reload)
/// by polling a condition until a deadline, then fails with what was awaited: no fixed sleeps, and an assertion that
/// can fail.
/// </summary>
public static class Eventually
{
    /// <summary>The default deadline: generous, because the machine running the tests may be busy.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits until <paramref name="condition"/> holds; fails naming <paramref name="what"/> after the deadline.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return WaitForCoreAsync(() => ValueTask.FromResult(condition() ? new Found<bool>(true) : default), what, deadline);
    }

    /// <summary>
    /// Waits until the asynchronous <paramref name="condition"/> holds (say, it sends a request and looks at the answer);
    /// fails naming <paramref name="what"/> after the deadline.
    /// </summary>
    public static Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return WaitForCoreAsync(async () => await condition().ConfigureAwait(false) ? new Found<bool>(true) : default, what, deadline);
    }

    /// <summary>
    /// Waits until <paramref name="probe"/> returns a value and returns it; fails naming <paramref name="what"/> after
    /// the deadline.
    /// </summary>
    public static Task<T> WaitForAsync<T>(Func<T?> probe, string what, TimeSpan? deadline = null)
        where T : class =>
        WaitForCoreAsync(() => ValueTask.FromResult(probe() is { } value ? new Found<T>(value) : default), what, deadline);

    /// <summary>
    /// Waits until the asynchronous <paramref name="probe"/> returns a value and returns it; fails naming
    /// <paramref name="what"/> after the deadline.
    /// </summary>
    public static Task<T> WaitForAsync<T>(Func<Task<T?>> probe, string what, TimeSpan? deadline = null)
        where T : class =>
        WaitForCoreAsync(async () => await probe().ConfigureAwait(false) is { } value ? new Found<T>(value) : default, what, deadline);

    /// <summary>Waits for a change token's callback; fails naming <paramref name="what"/> after the deadline.</summary>
    public static async Task FiresAsync(IChangeToken token, string what, TimeSpan? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(token);
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable registration = token.RegisterChangeCallback(_ => fired.TrySetResult(), null);
        await CompletesAsync(fired.Task, "the change token fires: " + what, deadline).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for <paramref name="task"/> (say, one a fake completes when the code under test reaches it); fails naming
    /// <paramref name="what"/> after the deadline.
    /// </summary>
    public static async Task CompletesAsync(Task task, string what, TimeSpan? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        TimeSpan limit = deadline ?? Deadline;
        try
        {
            await task.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"not reached within {limit.TotalSeconds} s: {what}");
        }
    }

    private static async Task<T> WaitForCoreAsync<T>(Func<ValueTask<Found<T>>> probe, string what, TimeSpan? deadline)
    {
        ArgumentNullException.ThrowIfNull(probe);
        TimeSpan limit = deadline ?? Deadline;
        var watch = Stopwatch.StartNew();
        while (true)
        {
            Found<T> found = await probe().ConfigureAwait(false);
            if (found.HasValue)
            {
                return found.Value;
            }

            if (watch.Elapsed > limit)
            {
                Assert.Fail($"not reached within {limit.TotalSeconds} s: {what}");
            }

            await Task.Delay(PollInterval).ConfigureAwait(false);
        }
    }

    private readonly record struct Found<T>(T Value)
    {
        public bool HasValue { get; } = true;
    }
}
