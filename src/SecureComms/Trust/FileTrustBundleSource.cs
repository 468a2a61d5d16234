using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>One configured bundle file: the trust domain it speaks for, where it is, and its format.</summary>
internal sealed record TrustBundleFile(TrustDomain TrustDomain, string Path, TrustBundleFormat Format);

/// <summary>
/// Trust bundles of one or more trust domains (federation) read from files and re-read when any of them changes
/// (see <see cref="FileChangeMonitor"/>: directory watchers, so Kubernetes <c>..data</c> symlink swaps are seen,
/// plus polling on the <see cref="TimeProvider"/>). The first load must succeed or construction throws
/// <see cref="TrustBundleException"/>, which stops start-up. A later change that cannot be read (half-written,
/// unparsable, a leaf instead of a CA) keeps the last good set, with a warning; a good one replaces the whole
/// snapshot atomically and fires the change token.
/// </summary>
internal sealed class FileTrustBundleSource : ITrustBundleSource, IDisposable
{
    private readonly TrustBundleFile[] _files;
    private readonly ILogger _logger;
    private readonly ChangeSignal _changed = new();
    private readonly FileChangeMonitor _monitor;
    private TrustBundleSet _current;

    /// <exception cref="TrustBundleException">
    /// A file cannot be loaded, or two files name the same trust domain; the message names the file(s).
    /// </exception>
    public FileTrustBundleSource(IReadOnlyList<TrustBundleFile> files, TimeSpan pollingInterval, TimeProvider timeProvider, ILogger<FileTrustBundleSource> logger)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _files = [.. files];
        _logger = logger;
        foreach (IGrouping<TrustDomain, TrustBundleFile> domain in _files.GroupBy(f => f.TrustDomain))
        {
            if (domain.Count() > 1)
            {
                throw new TrustBundleException(
                    $"trust domain {domain.Key} has more than one bundle file ({string.Join(", ", domain.Select(f => $"'{f.Path}'"))}); put its authorities in one file.");
            }
        }

        // Baseline taken before the first load, so a change made during it is still picked up.
        _monitor = new FileChangeMonitor(
            "trust bundles " + string.Join(", ", _files.Select(f => $"'{f.Path}'")),
            [.. _files.Select(f => f.Path)],
            pollingInterval,
            timeProvider,
            logger,
            TryReload);
        try
        {
            _current = LoadAll();
        }
        catch
        {
            _monitor.Dispose();
            throw;
        }

        TrustBundleLog.BundlesLoaded(logger, _current);
        _monitor.Start();
    }

    public TrustBundleSet Current => Volatile.Read(ref _current);

    public IChangeToken GetChangeToken() => _changed.GetChangeToken();

    private TrustBundleSet LoadAll()
    {
        var bundles = new List<TrustBundle>(_files.Length);
        foreach (TrustBundleFile file in _files)
        {
            try
            {
                bundles.Add(TrustBundleLoader.Load(file.TrustDomain, file.Path, file.Format));
            }
            catch (TrustBundleException ex)
            {
                throw new TrustBundleException(ex.Message, ex.InnerException) { TrustDomain = file.TrustDomain };
            }
        }

        return new TrustBundleSet(bundles);
    }

    // Called by the monitor, never concurrently.
    private void TryReload()
    {
        TrustBundleSet next;
        try
        {
            next = LoadAll();
        }
        catch (TrustBundleException ex)
        {
            TrustBundleLog.BundleReloadRejected(_logger, ex.Message);
            return;
        }

        Volatile.Write(ref _current, next);
        TrustBundleLog.BundlesLoaded(_logger, next);
        _changed.Signal();
    }

    public void Dispose()
    {
        _monitor.Dispose();
        _changed.Dispose();
    }
}
