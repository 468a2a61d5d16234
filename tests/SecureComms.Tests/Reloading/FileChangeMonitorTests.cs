
namespace SecureComms.Tests.Reloading;

/// <summary>
/// The shared change detector, driven by a fake clock with directory watchers off, so every check below happens inside
/// <c>Advance</c> and the outcomes are deterministic. (The watchers are exercised by the rotation tests.)
/// </summary>
[TestClass]
public sealed class FileChangeMonitorTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    private sealed class Harness : IDisposable
    {
        private int _calls;

        public Harness(Action? onChanged = null, string? path = null, bool watch = false)
        {
            Path = path ?? Directory.File("watched.pem");
            if (path is null)
            {
                File.WriteAllText(Path, "one");
            }

            Monitor = new FileChangeMonitor("test files", [Path], Poll, Clock, Logger, () =>
            {
                Interlocked.Increment(ref _calls);
                onChanged?.Invoke();
            }, watch);
        }

        public TemporaryFolder Directory { get; } = new();

        public FakeTimeProvider Clock { get; } = new();

        public FakeLogger Logger { get; } = new();

        public FileChangeMonitor Monitor { get; }

        public string Path { get; }

        public int Calls => Volatile.Read(ref _calls);

        /// <summary>One poll, then the settle delay: enough for any change on disk to be reported.</summary>
        public void PollAndSettle()
        {
            Clock.Advance(Poll);
            Clock.Advance(FileChangeMonitor.SettleDelay);
        }

        public void Dispose()
        {
            Monitor.Dispose();
            Directory.Dispose();
        }
    }

    [TestMethod]
    public void AChangedFile_IsReportedOnce_AfterItHasSettled()
    {
        using var harness = new Harness();
        harness.Monitor.Start();

        File.WriteAllText(harness.Path, "two");
        harness.Clock.Advance(Poll);
        Assert.AreEqual(0, harness.Calls, "seen, but not yet settled");
        harness.Clock.Advance(FileChangeMonitor.SettleDelay);
        Assert.AreEqual(1, harness.Calls);

        harness.PollAndSettle();
        harness.PollAndSettle();
        Assert.AreEqual(1, harness.Calls, "no further change, no further report");
    }

    [TestMethod]
    public void AFileRewrittenWithTheSameBytes_IsNotReported()
    {
        using var harness = new Harness();
        harness.Monitor.Start();

        File.WriteAllText(harness.Path, "one");
        File.SetLastWriteTimeUtc(harness.Path, DateTime.UtcNow.AddMinutes(1));
        harness.PollAndSettle();

        Assert.AreEqual(0, harness.Calls);
    }

    [TestMethod]
    public void AFileStillBeingWritten_IsReportedOnlyOnceItStopsChanging()
    {
        using var harness = new Harness();
        harness.Monitor.Start();

        File.WriteAllText(harness.Path, "tw");
        harness.Clock.Advance(Poll);                          // seen "tw"
        File.WriteAllText(harness.Path, "two");
        harness.Clock.Advance(FileChangeMonitor.SettleDelay); // "two" differs from "tw": wait again
        Assert.AreEqual(0, harness.Calls);

        harness.Clock.Advance(FileChangeMonitor.SettleDelay); // "two" again: settled
        Assert.AreEqual(1, harness.Calls);
    }

    [TestMethod]
    public void AChangeMadeBeforeStart_IsStillReported()
    {
        // The owner constructs the monitor, then loads, then starts: a change during its load must not be lost.
        using var harness = new Harness();
        File.WriteAllText(harness.Path, "changed during the first load");

        harness.Monitor.Start();
        harness.PollAndSettle();

        Assert.AreEqual(1, harness.Calls);
    }

    [TestMethod]
    public void AFailingCallback_IsLoggedAsAnError_AndMonitoringContinues()
    {
        using var harness = new Harness(onChanged: () => throw new InvalidOperationException("boom"));
        harness.Monitor.Start();

        File.WriteAllText(harness.Path, "two");
        harness.PollAndSettle();
        File.WriteAllText(harness.Path, "three");
        harness.PollAndSettle();

        Assert.AreEqual(2, harness.Calls);
        Assert.AreEqual(2, harness.Logger.Collector.GetSnapshot().Count(e => e.Id.Id == 1003 && e.Level == Microsoft.Extensions.Logging.LogLevel.Error));
    }

    [TestMethod]
    public void AfterDispose_NoCallbackRuns()
    {
        using var harness = new Harness();
        harness.Monitor.Start();

        harness.Monitor.Dispose();
        File.WriteAllText(harness.Path, "two");
        harness.PollAndSettle();

        Assert.AreEqual(0, harness.Calls);
    }

    [TestMethod]
    public void AFileInADirectoryThatDoesNotExistYet_IsPolled_AndPickedUpWhenItAppears()
    {
        using var scratch = new TemporaryFolder();
        string path = Path.Combine(scratch.Path, "later", "bundle.pem");
        using var harness = new Harness(path: path, watch: true);
        harness.Monitor.Start();
        Assert.AreEqual(1, harness.Logger.Collector.CountOf(1002), "the missing directory cannot be watched");

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "now here");
        harness.PollAndSettle();

        Assert.AreEqual(1, harness.Calls);
    }

    [TestMethod]
    public void ANonPositivePollingInterval_IsRefused()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => new FileChangeMonitor("x", ["/tmp/x"], TimeSpan.Zero, new FakeTimeProvider(), new FakeLogger(), () => { }));
    }
}
