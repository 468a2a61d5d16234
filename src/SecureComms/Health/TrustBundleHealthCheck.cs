using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SecureComms;

/// <summary>The trust bundles, see <see cref="SecureCommsHealthChecks.TrustBundles"/>.</summary>
internal sealed class TrustBundleHealthCheck(ITrustBundleSource bundles, ICertificateSource certificates, TimeProvider timeProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check());

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A custom source may throw anything; a health check reports it instead of throwing.")]
    internal HealthCheckResult Check()
    {
        TrustBundleSet set;
        try
        {
            set = bundles.Current;
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy($"The trust bundles cannot be read: {ex.Message}");
        }

        TrustDomain? own = null;
        try
        {
            own = certificates.Current.SpiffeId.TrustDomain;
        }
        catch (Exception)
        {
            // the certificate check reports an unreadable certificate; the bundles are still checked below
        }

        if (set.Bundles.Count == 0)
        {
            return HealthCheckResult.Unhealthy("No trust bundle is loaded: every peer is untrusted.");
        }

        DateTimeOffset now = timeProvider.GetUtcNow();
        var data = new Dictionary<string, object>();
        var unhealthy = new List<string>();
        var degraded = new List<string>();
        if (own is { } ownDomain && !set.TryGetBundle(ownDomain, out _))
        {
            unhealthy.Add($"no bundle for the workload's own trust domain {ownDomain.Name}");
        }

        foreach (TrustBundle bundle in set.Bundles)
        {
            int valid = 0;
            int expired = 0;
            foreach (X509Certificate2 authority in bundle.Authorities)
            {
                if (now >= new DateTimeOffset(authority.NotAfter.ToUniversalTime()))
                {
                    expired++;
                }
                else if (now >= new DateTimeOffset(authority.NotBefore.ToUniversalTime()))
                {
                    valid++;
                }
            }

            data[bundle.TrustDomain.Name] = string.Create(
                CultureInfo.InvariantCulture,
                $"{valid} valid, {expired} expired, first expiry {bundle.EarliestExpiry:O}");
            bool isOwn = own is { } o && o.Equals(bundle.TrustDomain);
            if (valid == 0)
            {
                (isOwn ? unhealthy : degraded).Add($"no currently valid authority for {bundle.TrustDomain.Name}");
            }
            else if (expired > 0)
            {
                degraded.Add($"{expired} expired authorit{(expired == 1 ? "y" : "ies")} in the bundle of {bundle.TrustDomain.Name}");
            }
        }

        if (unhealthy.Count > 0)
        {
            unhealthy.AddRange(degraded);
            return HealthCheckResult.Unhealthy($"Trust bundles: {string.Join("; ", unhealthy)}.", data: data);
        }

        return degraded.Count > 0
            ? HealthCheckResult.Degraded($"Trust bundles: {string.Join("; ", degraded)}.", data: data)
            : HealthCheckResult.Healthy($"Trust bundles loaded: {set}.", data);
    }
}
