using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Per-caller rate limits with ASP.NET Core rate limiting, partitioned by the caller's SPIFFE ID. The partition key
/// comes from the connection's handshake verdict, so it is known before routing and costs a lookup.
/// </summary>
internal sealed class CallerRateLimiter(IOptionsMonitor<SecureCommsRateLimitOptions> options, ServerTlsOptionsProvider tls)
{
    private (SecureCommsRateLimitOptions Source, (SpiffeIdAuthorizer Callers, CallerRateLimitOptions Limit)[] Limits)? _compiled;

    /// <summary>
    /// Whether a limit applies to this request's caller. Requests of callers without a limit (and every request when no
    /// limit is configured) skip the rate limiter entirely: a partitioned limiter serialises its partition lookups on a
    /// lock, which costs throughput under load even for a no-op partition.
    /// </summary>
    public bool AppliesTo(HttpContext context)
    {
        (SpiffeIdAuthorizer Callers, CallerRateLimitOptions Limit)[] limits = Compiled();
        if (limits.Length == 0)
        {
            return false;
        }

        X509Certificate2? certificate = context.Connection.ClientCertificate;
        if (certificate is null || !tls.TryGetHandshakeResult(certificate, out SvidValidationResult? result) || result is not { IsValid: true })
        {
            return false;
        }

        foreach ((SpiffeIdAuthorizer callers, _) in limits)
        {
            if (callers.IsAuthorized(result.SpiffeId))
            {
                return true;
            }
        }

        return false;
    }

    public RateLimitPartition<string> Partition(HttpContext context)
    {
        X509Certificate2? certificate = context.Connection.ClientCertificate;
        if (certificate is not null && tls.TryGetHandshakeResult(certificate, out SvidValidationResult? result) && result is { IsValid: true })
        {
            foreach ((SpiffeIdAuthorizer callers, CallerRateLimitOptions limit) in Compiled())
            {
                if (callers.IsAuthorized(result.SpiffeId))
                {
                    string key = result.SpiffeId.ToString();
                    return RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = limit.PermitLimit,
                        Window = limit.Window,
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
                }
            }
        }

        return RateLimitPartition.GetNoLimiter(string.Empty);
    }

    private (SpiffeIdAuthorizer Callers, CallerRateLimitOptions Limit)[] Compiled()
    {
        SecureCommsRateLimitOptions current = options.CurrentValue;
        if (_compiled is { } c && ReferenceEquals(c.Source, current))
        {
            return c.Limits;
        }

        var limits = new List<(SpiffeIdAuthorizer, CallerRateLimitOptions)>(current.RateLimits.Count);
        foreach (CallerRateLimitOptions limit in current.RateLimits)
        {
            var authorizers = new List<SpiffeIdAuthorizer>();
            foreach (string pattern in limit.Callers)
            {
                if (SpiffeIdAuthorizer.TryParse(pattern, out SpiffeIdAuthorizer? authorizer, out _))
                {
                    authorizers.Add(authorizer);
                }
            }

            if (authorizers.Count > 0 && limit.PermitLimit > 0)
            {
                limits.Add((SpiffeIdAuthorizer.AnyOf([.. authorizers]), limit));
            }
        }

        (SpiffeIdAuthorizer, CallerRateLimitOptions)[] compiled = [.. limits];
        _compiled = (current, compiled);
        return compiled;
    }
}

/// <summary>Puts the rate limiter first in the pipeline, since <c>AddSecureComms</c> is the only line an application adds.</summary>
internal sealed class CallerRateLimitStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        CallerRateLimiter limiter = app.ApplicationServices.GetRequiredService<CallerRateLimiter>();
        app.UseWhen(limiter.AppliesTo, limited => limited.UseRateLimiter());
        next(app);
    };
}
