using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SecureComms;

/// <summary>
/// The token endpoints of the outbound clients, by each client's last acquisition, see
/// <see cref="SecureCommsHealthChecks.TokenEndpoints"/>. It never calls a token endpoint itself: a probe must not
/// spend tokens or trip the circuit breaker.
/// </summary>
internal sealed class TokenEndpointHealthCheck(TokenProviderRegistry registry, LastGoodOptions<SecureCommsOptions> options, TimeProvider timeProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check());

    internal HealthCheckResult Check()
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach ((string name, SecureClientOptions client) in options.Current.Clients)
        {
            if (client.Token is not null)
            {
                data[name] = "no token requested yet";
            }
        }

        if (data.Count == 0)
        {
            return HealthCheckResult.Healthy("No client acquires access tokens.");
        }

        DateTimeOffset now = timeProvider.GetUtcNow();
        var unhealthy = new List<string>();
        var degraded = new List<string>();
        foreach ((string name, CertificateBoundTokenProvider provider) in registry.CreatedProviders)
        {
            CertificateBoundTokenProvider.TokenAcquisitionStatus status = provider.Status;
            if (status.LastFailure is { } failedAt)
            {
                bool tokenStillValid = status.TokenExpiresAt is { } expiresAt && expiresAt > now;
                string text = tokenStillValid
                    ? string.Create(CultureInfo.InvariantCulture, $"{name}: last token request failed ({status.LastError}) at {failedAt:O}; the cached token is used until {status.TokenExpiresAt:O}")
                    : string.Create(CultureInfo.InvariantCulture, $"{name}: no valid token, last request failed ({status.LastError}) at {failedAt:O}");
                (tokenStillValid ? degraded : unhealthy).Add(text);
                data[name] = text;
            }
            else if (status.LastSuccess is { } succeededAt)
            {
                data[name] = string.Create(CultureInfo.InvariantCulture, $"token acquired at {succeededAt:O}, valid until {status.TokenExpiresAt:O}");
            }
        }

        if (unhealthy.Count > 0)
        {
            unhealthy.AddRange(degraded);
            return HealthCheckResult.Unhealthy($"Token endpoints: {string.Join("; ", unhealthy)}.", data: data);
        }

        return degraded.Count > 0
            ? HealthCheckResult.Degraded($"Token endpoints: {string.Join("; ", degraded)}.", data: data)
            : HealthCheckResult.Healthy("Every token client's last acquisition succeeded or none was needed yet.", data);
    }
}
