using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// A workload certificate read by a loader and re-read when its files change (or, with no files, on every polling
/// tick). The first load must succeed or construction throws, which stops start-up. A later load that fails — a
/// half-written file, a certificate that does not match its key, a certificate that is not an SVID or already
/// expired — is ignored with a warning and the last good certificate stays in use.
/// </summary>
internal sealed class ReloadingCertificateSource : ICertificateSource, IDisposable
{
    private readonly string _description;
    private readonly Func<WorkloadCertificate> _load;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ChangeSignal _changed = new();
    private readonly IDisposable _trigger;
    private WorkloadCertificate _current;

    public ReloadingCertificateSource(
        string description,
        IReadOnlyList<string> watchedFiles,
        Func<WorkloadCertificate> load,
        TimeSpan pollingInterval,
        TimeProvider timeProvider,
        ILogger logger)
    {
        _description = description;
        _load = load;
        _timeProvider = timeProvider;
        _logger = logger;
        _current = LoadChecked();
        SourceLog.CertificateLoaded(logger, _current.SpiffeId, description, _current.NotAfter, _current.Sha256Thumbprint);
        _trigger = watchedFiles.Count > 0
            ? new FileChangeMonitor(watchedFiles, pollingInterval, timeProvider, logger, TryReload)
            : timeProvider.CreateTimer(_ => TryReload(), null, pollingInterval, pollingInterval);
    }

    public WorkloadCertificate Current => Volatile.Read(ref _current);

    public IChangeToken GetChangeToken() => _changed.GetChangeToken();

    private WorkloadCertificate LoadChecked()
    {
        WorkloadCertificate certificate = _load();
        if (_timeProvider.GetUtcNow() >= certificate.NotAfter)
        {
            throw new CertificateSourceException($"the certificate from {_description} expired at {certificate.NotAfter:O}.");
        }

        return certificate;
    }

    private void TryReload()
    {
        WorkloadCertificate next;
        try
        {
            next = LoadChecked();
        }
        catch (CertificateSourceException ex)
        {
            SourceLog.CertificateRotationRejected(_logger, _description, ex.Message);
            return;
        }

        if (string.Equals(next.Sha256Thumbprint, Current.Sha256Thumbprint, StringComparison.Ordinal))
        {
            return;
        }

        Volatile.Write(ref _current, next);
        SourceLog.CertificateLoaded(_logger, next.SpiffeId, _description, next.NotAfter, next.Sha256Thumbprint);
        _changed.Signal();
    }

    public void Dispose()
    {
        _trigger.Dispose();
        _changed.Dispose();
    }
}
