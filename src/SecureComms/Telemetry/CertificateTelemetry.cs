using System.Diagnostics.Metrics;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// Certificate health as metrics: the expiry gauges of the workload certificate and of each trust bundle, and a
/// count of rotations (any <see cref="ICertificateSource"/>, including custom ones, signals them by its change token).
/// Created when the host starts, after the sources have loaded.
/// </summary>
internal sealed class CertificateTelemetry : IDisposable
{
    private readonly ICertificateSource _certificates;
    private readonly ITrustBundleSource _bundles;
    private readonly TimeProvider _timeProvider;
    private readonly IDisposable _rotationSubscription;

    public CertificateTelemetry(SecureCommsMetrics metrics, ICertificateSource certificates, ITrustBundleSource bundles, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _certificates = certificates;
        _bundles = bundles;
        _timeProvider = timeProvider;
        metrics.Meter.CreateObservableGauge(
            SecureCommsTelemetry.Instruments.CertificateTimeToExpiry,
            ObserveCertificate,
            "s",
            "Seconds until the workload's own certificate expires; negative once expired.");
        metrics.Meter.CreateObservableGauge(
            SecureCommsTelemetry.Instruments.TrustBundleTimeToExpiry,
            ObserveBundles,
            "s",
            "Seconds until the first CA certificate of each trust bundle expires, by trust domain.");
        _rotationSubscription = ChangeToken.OnChange(certificates.GetChangeToken, () => metrics.CertificateRotation(succeeded: true));
    }

    private IEnumerable<Measurement<double>> ObserveCertificate()
    {
        WorkloadCertificate certificate;
        try
        {
            certificate = _certificates.Current;
        }
        catch (InvalidOperationException)
        {
            return []; // nothing loaded: no value, the health check reports it
        }

        return [new Measurement<double>((certificate.NotAfter - _timeProvider.GetUtcNow()).TotalSeconds)];
    }

    private IEnumerable<Measurement<double>> ObserveBundles()
    {
        DateTimeOffset now = _timeProvider.GetUtcNow();
        foreach (TrustBundle bundle in _bundles.Current.Bundles)
        {
            yield return new Measurement<double>(
                (bundle.EarliestExpiry - now).TotalSeconds,
                new KeyValuePair<string, object?>(SecureCommsTelemetry.Tags.TrustDomain, bundle.TrustDomain.Name));
        }
    }

    public void Dispose() => _rotationSubscription.Dispose();
}
