using System.Diagnostics;

namespace SecureComms.Tests.Certificates;

/// <summary>Waits for a condition with a deadline, checking every 20 ms: no fixed sleeps.</summary>
internal static class Eventually
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.IsTrue(watch.Elapsed < Deadline, $"not reached within {Deadline.TotalSeconds} s: {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>Waits for a change token's callback, with the same deadline.</summary>
    public static async Task FiresAsync(Microsoft.Extensions.Primitives.IChangeToken token, string what)
    {
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable registration = token.RegisterChangeCallback(_ => fired.TrySetResult(), null);
        try
        {
            await fired.Task.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"the change token did not fire within {Deadline.TotalSeconds} s: {what}");
        }
    }
}
