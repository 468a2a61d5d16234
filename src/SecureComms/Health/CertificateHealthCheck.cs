using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SecureComms;

/// <summary>The workload's own certificate, see <see cref="SecureCommsHealthChecks.Certificate"/>.</summary>
internal sealed class CertificateHealthCheck(ICertificateSource certificates, LastGoodOptions<SecureCommsOptions> options, TimeProvider timeProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check());

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A custom certificate source may throw anything; a health check reports it instead of throwing.")]
    internal HealthCheckResult Check()
    {
        WorkloadCertificate certificate;
        try
        {
            certificate = certificates.Current;
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy($"The workload certificate cannot be read: {ex.Message}");
        }

        DateTimeOffset now = timeProvider.GetUtcNow();
        var data = new Dictionary<string, object>
        {
            ["spiffe_id"] = certificate.SpiffeId.ToString(),
            ["not_before"] = certificate.NotBefore.ToString("O", CultureInfo.InvariantCulture),
            ["not_after"] = certificate.NotAfter.ToString("O", CultureInfo.InvariantCulture),
            ["seconds_to_expiry"] = Math.Round((certificate.NotAfter - now).TotalSeconds),
        };
        if (now >= certificate.NotAfter)
        {
            return HealthCheckResult.Unhealthy($"The workload certificate {certificate.SpiffeId} expired at {certificate.NotAfter:O}.", data: data);
        }

        if (now < certificate.NotBefore)
        {
            return HealthCheckResult.Unhealthy($"The workload certificate {certificate.SpiffeId} is not valid before {certificate.NotBefore:O}.", data: data);
        }

        if (now >= CertificateExpiry.RenewalOverdueFrom(certificate, options.Current.Health.CertificateExpiryWarning))
        {
            return HealthCheckResult.Degraded(
                $"The workload certificate {certificate.SpiffeId} expires at {certificate.NotAfter:O} ({CertificateExpiry.Describe(certificate.NotAfter - now)} left) and has not been rotated.",
                data: data);
        }

        return HealthCheckResult.Healthy($"The workload certificate {certificate.SpiffeId} is valid until {certificate.NotAfter:O}.", data);
    }
}
