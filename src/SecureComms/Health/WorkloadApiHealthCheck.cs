using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SecureComms;

/// <summary>The SPIFFE Workload API stream, see <see cref="SecureCommsHealthChecks.WorkloadApi"/>.</summary>
internal sealed class WorkloadApiHealthCheck(ICertificateSource certificates, TimeProvider timeProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check());

    internal HealthCheckResult Check()
    {
        if (certificates is not WorkloadApiX509Source source)
        {
            return HealthCheckResult.Healthy("The SPIFFE Workload API is not in use: the identity comes from configured files or code.");
        }

        WorkloadApiStatus status = source.Status;
        var data = new Dictionary<string, object>
        {
            ["endpoint"] = source.Endpoint,
            ["connected"] = status.Connected,
        };
        if (status.DisconnectedSince is { } since)
        {
            data["disconnected_since"] = since.ToString("O", CultureInfo.InvariantCulture);
        }

        WorkloadCertificate certificate;
        try
        {
            certificate = source.Certificate;
        }
        catch (InvalidOperationException ex)
        {
            return HealthCheckResult.Unhealthy($"{ex.Message} {status.Problem}", data: data);
        }

        if (status.Connected)
        {
            return HealthCheckResult.Healthy($"Connected to the SPIFFE Workload API at {source.Endpoint}; serving {certificate.SpiffeId}.", data);
        }

        string why = status.PermissionDenied ? $"no identity registered for this workload at {source.Endpoint}" : status.Problem ?? "disconnected";
        if (timeProvider.GetUtcNow() >= certificate.NotAfter)
        {
            return HealthCheckResult.Unhealthy(
                $"The SPIFFE Workload API at {source.Endpoint} is unreachable ({why}) and the X.509-SVID {certificate.SpiffeId} expired at {certificate.NotAfter:O}.", data: data);
        }

        return HealthCheckResult.Degraded(
            $"The SPIFFE Workload API at {source.Endpoint} is unreachable ({why}); serving {certificate.SpiffeId} until it expires at {certificate.NotAfter:O}.", data: data);
    }
}
