using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Per-caller rate limits with ASP.NET Core rate limiting, partitioned by the caller's SPIFFE ID. The partition key
/// comes from the connection's handshake verdict, so it is known before routing and costs a lookup.
/// </summary>
internal sealed class CallerRateLimiter(IOptionsMonitor<SecureCommsRateLimitOptions> options, ServerTlsOptionsProvider tls)
{
    private (SecureCommsRateLimitOptions Source, (SpiffeIdAuthorizer Callers, CallerRateLimitOptions Limit)[] Limits)? _compiled;

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

    private (SpiffeIdAuthorizer, CallerRateLimitOptions)[] Compiled()
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
        app.UseRateLimiter();
        next(app);
    };
}
