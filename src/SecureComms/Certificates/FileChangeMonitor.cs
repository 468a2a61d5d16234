using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// Calls back when any of a set of files changes content. Watches the files' directories (Kubernetes secret and
/// SPIFFE helper mounts change by swapping a <c>..data</c> symlink, which a watcher on the file itself misses) and
/// polls on a <see cref="TimeProvider"/> timer as a fallback, comparing SHA-256 of the content so touch-only events
/// and unchanged rewrites are ignored. Bursts of events are debounced.
/// </summary>
internal sealed class FileChangeMonitor : IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200);

    private readonly string[] _paths;
    private readonly Action _onChanged;
    private readonly ILogger _logger;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly ITimer _pollTimer;
    private readonly ITimer _debounceTimer;
    private readonly Lock _gate = new();
    private byte[][] _hashes;
    private bool _disposed;

    public FileChangeMonitor(IReadOnlyList<string> paths, TimeSpan pollingInterval, TimeProvider timeProvider, ILogger logger, Action onChanged)
    {
        _paths = [.. paths];
        _onChanged = onChanged;
        _logger = logger;
        _hashes = HashAll();
        _debounceTimer = timeProvider.CreateTimer(_ => Check(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _pollTimer = timeProvider.CreateTimer(_ => Check(), null, pollingInterval, pollingInterval);
        foreach (string directory in _paths.Select(p => Path.GetDirectoryName(Path.GetFullPath(p))!).Distinct(StringComparer.Ordinal))
        {
            try
            {
                var watcher = new FileSystemWatcher(directory)
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                    IncludeSubdirectories = false,
                };
                watcher.Changed += OnEvent;
                watcher.Created += OnEvent;
                watcher.Deleted += OnEvent;
                watcher.Renamed += OnEvent;
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
            {
                // Polling still covers this directory.
                SourceLog.WatcherUnavailable(_logger, directory, ex.Message);
            }
        }
    }

    private void OnEvent(object sender, FileSystemEventArgs e)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _debounceTimer.Change(Debounce, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Check()
    {
        bool changed;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            byte[][] current = HashAll();
            changed = false;
            for (int i = 0; i < current.Length; i++)
            {
                changed |= !current[i].AsSpan().SequenceEqual(_hashes[i]);
            }

            _hashes = current;
        }

        if (changed)
        {
            _onChanged();
        }
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
                hashes[i] = []; // missing for now (e.g. mid-swap); the next check sees it again
            }
        }

        return hashes;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _pollTimer.Dispose();
        _debounceTimer.Dispose();
        foreach (FileSystemWatcher watcher in _watchers)
        {
            watcher.Dispose();
        }
    }
}
