using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// Calls back when any of a few small files (certificates, keys, trust bundles) changes content. Shared by every
/// file-backed certificate and trust bundle source.
/// </summary>
/// <remarks>
/// <para>
/// Watches each file's <b>directory</b>, not the file: Kubernetes secret and config-map mounts (and SPIFFE helpers)
/// publish an update by writing a new timestamped directory and atomically renaming a <c>..data</c> symlink over the
/// old one, which a watcher on the file itself never sees. Files are always re-read by path.
/// </para>
/// <para>
/// Watchers are only a hint. A <see cref="TimeProvider"/> timer polls as the fallback (network and overlay file
/// systems, exhausted inotify limits), and every check compares SHA-256 hashes of the content, so touch-only events
/// and unchanged rewrites are ignored.
/// </para>
/// <para>
/// A change is reported only once the content has settled: the hashes must read the same on two checks
/// <see cref="SettleDelay"/> apart. A writer that replaces a certificate and then its key is thus seen once, with
/// both files new, instead of first as a mismatched pair. Content that never settles is reported anyway after
/// <see cref="MaxDeferrals"/> re-checks.
/// </para>
/// <para>
/// Callbacks never overlap and never run once <see cref="Dispose"/> has returned. An exception escaping the
/// callback is logged and swallowed: it runs on a timer thread, where it would otherwise end the process.
/// </para>
/// </remarks>
internal sealed class FileChangeMonitor : IDisposable
{
    /// <summary>How long content must stay unchanged before it is reported; also the debounce of watcher bursts.</summary>
    internal static readonly TimeSpan SettleDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>How many times a report is deferred for content that keeps changing before it is made anyway.</summary>
    internal const int MaxDeferrals = 10;

    private readonly string _description;
    private readonly string[] _paths;
    private readonly TimeSpan _pollingInterval;
    private readonly Action _onChanged;
    private readonly ILogger _logger;
    private readonly bool _watchDirectories;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly ITimer _pollTimer;
    private readonly ITimer _settleTimer;
    private readonly Lock _gate = new();
    private byte[][] _reported;
    private byte[][]? _pending;
    private int _deferrals;
    private volatile bool _disposed;

    /// <summary>
    /// Takes the baseline hashes now, so a change made while the owner performs its first load is still reported.
    /// Nothing is watched or polled until <see cref="Start"/>.
    /// </summary>
    /// <param name="description">Names the watched files in logs.</param>
    /// <param name="paths">The files; their directories are watched.</param>
    /// <param name="pollingInterval">The polling period; <see cref="Timeout.InfiniteTimeSpan"/> polls never.</param>
    /// <param name="timeProvider">Drives polling and settling.</param>
    /// <param name="logger">Receives watcher and callback failures.</param>
    /// <param name="onChanged">Called, never concurrently, when content has changed and settled.</param>
    /// <param name="watchDirectories">False to poll only (tests that need every check to come from the clock).</param>
    public FileChangeMonitor(
        string description,
        IReadOnlyList<string> paths,
        TimeSpan pollingInterval,
        TimeProvider timeProvider,
        ILogger logger,
        Action onChanged,
        bool watchDirectories = true)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (pollingInterval <= TimeSpan.Zero && pollingInterval != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(pollingInterval), pollingInterval, "The polling interval must be positive.");
        }

        _description = description;
        _paths = [.. paths.Select(Path.GetFullPath)];
        _pollingInterval = pollingInterval;
        _onChanged = onChanged;
        _logger = logger;
        _watchDirectories = watchDirectories;
        _reported = HashAll();
        _settleTimer = timeProvider.CreateTimer(_ => Check(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _pollTimer = timeProvider.CreateTimer(_ => Check(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Starts watching and polling.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        IEnumerable<string> directories = _watchDirectories
            ? _paths.Select(p => Path.GetDirectoryName(p)!).Distinct(StringComparer.Ordinal)
            : [];
        foreach (string directory in directories)
        {
            FileSystemWatcher? watcher = null;
            try
            {
                watcher = new FileSystemWatcher(directory)
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                    IncludeSubdirectories = false,
                };
                watcher.Changed += OnEvent;
                watcher.Created += OnEvent;
                watcher.Deleted += OnEvent;
                watcher.Renamed += OnEvent;
                watcher.Error += OnError; // e.g. a buffer overflow: events were lost, so look now
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
                watcher = null;
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
            {
                // Polling still covers this directory.
                CertificateSourceLog.WatcherUnavailable(_logger, directory, ex.Message);
            }
            finally
            {
                watcher?.Dispose();
            }
        }

        _pollTimer.Change(_pollingInterval, _pollingInterval);
    }

    private void OnEvent(object sender, FileSystemEventArgs e) => ArmSettleTimer();

    private void OnError(object sender, ErrorEventArgs e) => ArmSettleTimer();

    private void ArmSettleTimer()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            _settleTimer.Change(SettleDelay, Timeout.InfiniteTimeSpan); // each event postpones: bursts collapse
        }
        catch (ObjectDisposedException)
        {
            // Disposed concurrently.
        }
    }

    private void Check()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            byte[][] current = HashAll();
            if (SameContent(current, _reported))
            {
                _pending = null;
                _deferrals = 0;
                return;
            }

            bool settled = _pending is not null && SameContent(current, _pending);
            if (!settled && _deferrals < MaxDeferrals)
            {
                _pending = current;
                _deferrals++;
                ArmSettleTimer();
                return;
            }

            _reported = current;
            _pending = null;
            _deferrals = 0;
            try
            {
                _onChanged();
            }
#pragma warning disable CA1031 // A timer-thread exception would end the process; the owner keeps its last good value.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                CertificateSourceLog.ReloadFailed(_logger, _description, ex);
            }
        }
    }

    private static bool SameContent(byte[][] a, byte[][] b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            if (!a[i].AsSpan().SequenceEqual(b[i]))
            {
                return false;
            }
        }

        return true;
    }

    private byte[][] HashAll()
    {
        var hashes = new byte[_paths.Length][];
        for (int i = 0; i < _paths.Length; i++)
        {
            try
            {
                hashes[i] = SHA256.HashData(File.ReadAllBytes(_paths[i]));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                hashes[i] = []; // missing for now (e.g. mid-swap); a later check sees it again
            }
        }

        return hashes;
    }

    /// <summary>Stops watching and polling; waits for a callback in progress, and none runs afterwards.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _pollTimer.Dispose();
        _settleTimer.Dispose();
        foreach (FileSystemWatcher watcher in _watchers)
        {
            watcher.Dispose();
        }
    }
}
