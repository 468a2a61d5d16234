using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// Warns, without anyone polling a health endpoint, when the workload certificate is overdue for rotation (event 1700,
/// once per certificate) and when it has expired (event 1701). A timer is armed for the next of those moments and
/// re-armed on every rotation. Started by the start-up check.
/// </summary>
internal sealed class CertificateExpiryMonitor : IDisposable
{
    // Timers cannot be armed for more than about 49 days; a far deadline is approached in daily steps.
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromDays(1);

    private readonly ICertificateSource _certificates;
    private readonly LastGoodOptions<SecureCommsOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private IDisposable? _rotationSubscription;
    private ITimer? _timer;
    private string? _warnedThumbprint;
    private string? _expiredThumbprint;
    private bool _disposed;

    public CertificateExpiryMonitor(ICertificateSource certificates, LastGoodOptions<SecureCommsOptions> options, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _certificates = certificates;
        _options = options;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger("SecureComms.Certificates");
    }

    /// <summary>Checks the current certificate now and on every rotation. Calling it again does nothing.</summary>
    public void Start()
    {
        lock (_lock)
        {
            if (_rotationSubscription is not null || _disposed)
            {
                return;
            }

            _rotationSubscription = ChangeToken.OnChange(_certificates.GetChangeToken, Evaluate);
        }

        Evaluate();
    }

    private void Evaluate()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            WorkloadCertificate certificate = _certificates.Current;
            DateTimeOffset now = _timeProvider.GetUtcNow();
            DateTimeOffset overdueFrom = CertificateExpiry.RenewalOverdueFrom(certificate, _options.Current.Health.CertificateExpiryWarning);
            DateTimeOffset next;
            if (now >= certificate.NotAfter)
            {
                if (_expiredThumbprint != certificate.Sha256Thumbprint)
                {
                    _expiredThumbprint = certificate.Sha256Thumbprint;
                    HealthLog.CertificateExpired(_logger, certificate.SpiffeId, certificate.NotAfter);
                }

                _timer?.Dispose();
                _timer = null; // nothing left to announce until a rotation
                return;
            }

            if (now >= overdueFrom)
            {
                if (_warnedThumbprint != certificate.Sha256Thumbprint)
                {
                    _warnedThumbprint = certificate.Sha256Thumbprint;
                    HealthLog.CertificateExpiring(_logger, certificate.SpiffeId, certificate.NotAfter, CertificateExpiry.Describe(certificate.NotAfter - now));
                }

                next = certificate.NotAfter;
            }
            else
            {
                next = overdueFrom;
            }

            TimeSpan delay = next - now;
            Arm(delay > MaxTimerDelay ? MaxTimerDelay : delay);
        }
    }

    private void Arm(TimeSpan delay)
    {
        _timer?.Dispose();
        _timer = _timeProvider.CreateTimer(static state => ((CertificateExpiryMonitor)state!).Evaluate(), this, delay, Timeout.InfiniteTimeSpan);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _timer?.Dispose();
            _rotationSubscription?.Dispose();
        }
    }
}
