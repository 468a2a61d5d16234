using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// The engine behind every reloading certificate source: a workload certificate read by a loader and re-read when
/// its files change (or, with no files, on every polling tick). The first load must succeed or construction throws
/// <see cref="CertificateSourceException"/>, which stops start-up. A later load that fails — a half-written file, a
/// certificate that does not match its key, a certificate that is not an SVID or already expired — is ignored with a
/// warning and the last good certificate stays in use. A good new certificate is swapped in atomically, logged, and
/// the change token fires.
/// </summary>
internal sealed class ReloadingCertificateSource : ICertificateSource, IDisposable
{
    private readonly string _description;
    private readonly Func<WorkloadCertificate> _load;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SecureCommsMetrics? _metrics;
    private readonly ChangeSignal _changed = new();
    private readonly IDisposable _trigger;
    private readonly Lock _reloadGate = new();
    private WorkloadCertificate _current;

    /// <param name="description">Names the source in logs, e.g. <c>PEM files '/x/cert.pem' and '/x/key.pem'</c>.</param>
    /// <param name="watchedFiles">Files whose change triggers a reload; empty to reload on every polling tick.</param>
    /// <param name="load">
    /// Reads the certificate into fresh instances (one this source does not keep is disposed); throws
    /// <see cref="CertificateSourceException"/> on failure.
    /// </param>
    /// <param name="pollingInterval">The polling period.</param>
    /// <param name="timeProvider">The clock for polling and expiry checks.</param>
    /// <param name="logger">Receives load, rotation and rejection events.</param>
    /// <param name="metrics">Counts rotations refused (successful ones are counted from the change token).</param>
    public ReloadingCertificateSource(
        string description,
        IReadOnlyList<string> watchedFiles,
        Func<WorkloadCertificate> load,
        TimeSpan pollingInterval,
        TimeProvider timeProvider,
        ILogger logger,
        SecureCommsMetrics? metrics = null)
    {
        _metrics = metrics;
        ArgumentNullException.ThrowIfNull(watchedFiles);
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _description = description;
        _load = load;
        _timeProvider = timeProvider;
        _logger = logger;

        // The monitor takes its baseline before the first load, so a change made during the load is not missed.
        FileChangeMonitor? monitor = watchedFiles.Count > 0
            ? new FileChangeMonitor(description, watchedFiles, pollingInterval, timeProvider, logger, TryReload)
            : null;
        try
        {
            _current = LoadChecked();
        }
        catch
        {
            monitor?.Dispose();
            throw;
        }

        CertificateSourceLog.CertificateLoaded(logger, _current, description);
        if (monitor is not null)
        {
            monitor.Start();
            _trigger = monitor;
        }
        else
        {
            _trigger = timeProvider.CreateTimer(_ => ReloadOnTimer(), null, pollingInterval, pollingInterval);
        }
    }

    public WorkloadCertificate Current => Volatile.Read(ref _current);

    public IChangeToken GetChangeToken() => _changed.GetChangeToken();

    private WorkloadCertificate LoadChecked()
    {
        WorkloadCertificate certificate = _load();
        DateTimeOffset notAfter = certificate.NotAfter;
        if (_timeProvider.GetUtcNow() >= notAfter)
        {
            Release(certificate);
            throw new CertificateSourceException($"the certificate from {_description} expired at {notAfter:O}.");
        }

        return certificate;
    }

    private void ReloadOnTimer()
    {
        try
        {
            TryReload();
        }
#pragma warning disable CA1031 // A timer-thread exception would end the process; the last good certificate stays.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            CertificateSourceLog.ReloadFailed(_logger, _description, ex);
            _metrics?.CertificateRotation(succeeded: false);
        }
    }

    private void TryReload()
    {
        lock (_reloadGate)
        {
            Reload();
        }
    }

    private void Reload()
    {
        WorkloadCertificate next;
        try
        {
            next = LoadChecked();
        }
        catch (CertificateSourceException ex)
        {
            CertificateSourceLog.CertificateRotationRejected(_logger, _description, ex.Message);
            _metrics?.CertificateRotation(succeeded: false);
            return;
        }

        if (string.Equals(next.Sha256Thumbprint, Current.Sha256Thumbprint, StringComparison.Ordinal))
        {
            Release(next); // rewritten with the same certificate (or a store poll): nothing rotated
            return;
        }

        // The previous certificate is not disposed: connections in flight may still be using it.
        Volatile.Write(ref _current, next);
        CertificateSourceLog.CertificateLoaded(_logger, next, _description);
        _changed.Signal();
    }

    /// <summary>Disposes a freshly loaded certificate that nobody else has seen.</summary>
    private static void Release(WorkloadCertificate unused)
    {
        unused.Certificate.Dispose();
        foreach (System.Security.Cryptography.X509Certificates.X509Certificate2 intermediate in unused.Intermediates)
        {
            intermediate.Dispose();
        }
    }

    public void Dispose()
    {
        _trigger.Dispose();
        _changed.Dispose();
    }
}
