using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>One configured bundle file.</summary>
internal sealed record TrustBundleFile(TrustDomain TrustDomain, string Path, TrustBundleFormat Format);

/// <summary>
/// Trust bundles of several trust domains (federation) read from files and re-read when they change. The first load
/// must succeed or construction throws; a later change that cannot be read keeps the last good set, with a warning.
/// </summary>
internal sealed class FileTrustBundleSource : ITrustBundleSource, IDisposable
{
    private readonly IReadOnlyList<TrustBundleFile> _files;
    private readonly ILogger _logger;
    private readonly ChangeSignal _changed = new();
    private readonly FileChangeMonitor _monitor;
    private TrustBundleSet _current;

    public FileTrustBundleSource(IReadOnlyList<TrustBundleFile> files, TimeSpan pollingInterval, TimeProvider timeProvider, ILogger<FileTrustBundleSource> logger)
    {
        _files = files;
        _logger = logger;
        _current = LoadAll();
        SourceLog.BundlesLoaded(logger, _current);
        _monitor = new FileChangeMonitor([.. files.Select(f => f.Path)], pollingInterval, timeProvider, logger, TryReload);
    }

    public TrustBundleSet Current => Volatile.Read(ref _current);

    public IChangeToken GetChangeToken() => _changed.GetChangeToken();

    private TrustBundleSet LoadAll()
    {
        var bundles = new List<TrustBundle>(_files.Count);
        foreach (TrustBundleFile file in _files)
        {
            bundles.Add(TrustBundleLoader.Load(file.TrustDomain, file.Path, file.Format));
        }

        return new TrustBundleSet(bundles);
    }

    private void TryReload()
    {
        try
        {
            TrustBundleSet next = LoadAll();
            Volatile.Write(ref _current, next);
            SourceLog.BundlesLoaded(_logger, next);
            _changed.Signal();
        }
        catch (TrustBundleException ex)
        {
            SourceLog.BundleReloadRejected(_logger, ex.Message);
        }
    }

    public void Dispose()
    {
        _monitor.Dispose();
        _changed.Dispose();
    }
}
