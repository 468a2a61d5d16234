using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SecureComms;

/// <summary>The Workload API's JWT bundle stream, see <see cref="SecureCommsHealthChecks.JwtBundles"/>.</summary>
/// <param name="bundles">The bundle source; null when the service does not accept JWT-SVIDs.</param>
internal sealed class JwtBundleHealthCheck(WorkloadApiJwtBundleSource? bundles) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check());

    internal HealthCheckResult Check()
    {
        if (bundles is null)
        {
            return HealthCheckResult.Healthy("JWT-SVIDs are not accepted: no JWT bundle is needed.");
        }

        WorkloadApiStatus status = bundles.Status;
        var data = new Dictionary<string, object>
        {
            ["endpoint"] = bundles.Endpoint,
            ["connected"] = status.Connected,
        };
        if (status.DisconnectedSince is { } since)
        {
            data["disconnected_since"] = since.ToString("O", CultureInfo.InvariantCulture);
        }

        if (bundles.UpdatedAt is not { } updatedAt)
        {
            // Without a bundle no JWT-SVID can be validated: every one is refused (fail closed).
            string problem = status.PermissionDenied ? $"no identity registered for this workload at {bundles.Endpoint}" : status.Problem ?? "not connected yet";
            return HealthCheckResult.Unhealthy(
                $"No JWT bundle has arrived from the SPIFFE Workload API at {bundles.Endpoint} ({problem}): every JWT-SVID is refused.", data: data);
        }

        data["updated_at"] = updatedAt.ToString("O", CultureInfo.InvariantCulture);
        if (status.Connected)
        {
            return HealthCheckResult.Healthy($"Receiving JWT bundles from the SPIFFE Workload API at {bundles.Endpoint}.", data);
        }

        string why = status.PermissionDenied ? $"no identity registered for this workload at {bundles.Endpoint}" : status.Problem ?? "disconnected";
        return HealthCheckResult.Degraded(
            $"The JWT bundle stream of the SPIFFE Workload API at {bundles.Endpoint} is down ({why}); JWT-SVIDs are validated with the bundles received at {updatedAt:O}.", data: data);
    }
}
