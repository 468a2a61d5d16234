using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace SecureComms;

/// <summary>
/// Per-caller rate limits with ASP.NET Core rate limiting, partitioned by the caller's SPIFFE ID. The partition key
/// comes from the connection's handshake verdict, so it is known before routing and costs a lookup. The limits are the
/// last good ones (<see cref="LastGoodOptions{TCompiled}"/>): a bad edit is refused with a warning, never thrown at a
/// request; a good edit takes effect at once, since a changed limit is a new partition.
/// </summary>
internal sealed class CallerRateLimiter(LastGoodOptions<CallerRateLimits> limits, ServerTlsOptionsProvider tls)
{
    internal const string Section = SecureCommsOptions.SectionName + ":Authorization:RateLimits";

    /// <summary>
    /// Whether a limit applies to this request's caller. Requests of callers without a limit (and every request when no
    /// limit is configured) skip the rate limiter entirely: a partitioned limiter serialises its partition lookups on a
    /// lock, which costs throughput under load even for a no-op partition.
    /// </summary>
    public bool AppliesTo(HttpContext context)
    {
        ImmutableArray<CallerLimit> current = limits.Current.Limits;
        if (current.IsEmpty)
        {
            return false;
        }

        X509Certificate2? certificate = context.Connection.ClientCertificate;
        if (certificate is null || !tls.TryGetHandshakeResult(certificate, out SvidValidationResult? result) || result is not { IsValid: true })
        {
            return false;
        }

        foreach (CallerLimit limit in current)
        {
            if (limit.Callers.IsAuthorized(result.SpiffeId))
            {
                return true;
            }
        }

        return false;
    }

    public RateLimitPartition<CallerPartition> Partition(HttpContext context)
    {
        X509Certificate2? certificate = context.Connection.ClientCertificate;
        if (certificate is not null && tls.TryGetHandshakeResult(certificate, out SvidValidationResult? result) && result is { IsValid: true })
        {
            foreach (CallerLimit limit in limits.Current.Limits)
            {
                if (limit.Callers.IsAuthorized(result.SpiffeId))
                {
                    // The limit's values are part of the key: an edited limit starts a new window at once, an unchanged
                    // one keeps counting across reloads.
                    var key = new CallerPartition(result.SpiffeId.ToString(), limit.PermitLimit, limit.Window);
                    return RateLimitPartition.GetFixedWindowLimiter(key, static key => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = key.PermitLimit,
                        Window = key.Window,
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
                }
            }
        }

        return RateLimitPartition.GetNoLimiter(default(CallerPartition));
    }

    /// <summary>
    /// What a refused request gets besides the 429 the middleware set: <c>Retry-After</c> in seconds when the limiter
    /// knows when its window reopens (RFC 9110 §10.2.3, RFC 6585 §4), and for a gRPC call the ResourceExhausted status
    /// (<see cref="GrpcRefusal"/>). A handler the application configured before still runs for other requests.
    /// </summary>
    internal static Func<OnRejectedContext, CancellationToken, ValueTask> OnRejected(Func<OnRejectedContext, CancellationToken, ValueTask>? application) =>
        (rejected, cancellationToken) =>
        {
            HttpContext context = rejected.HttpContext;
            if (rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter))
            {
                context.Response.Headers.RetryAfter = ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (GrpcRefusal.IsGrpcRequest(context.Request))
            {
                return new ValueTask(GrpcRefusal.WriteAsync(context, StatusCodes.Status429TooManyRequests, "The caller's rate limit is exceeded."));
            }

            return application?.Invoke(rejected, cancellationToken) ?? ValueTask.CompletedTask;
        };

    /// <summary>Builds the last good holder of the limits bound from <c>SecureComms:Authorization:RateLimits</c>.</summary>
    internal static LastGoodOptions<CallerRateLimits> Watch(IServiceProvider services) =>
        LastGoodOptions<CallerRateLimits>.Create<SecureCommsRateLimitOptions>(services, Section, CallerRateLimits.Compile);
}

/// <summary>A rate-limit partition: one caller under one limit.</summary>
internal readonly record struct CallerPartition(string? Caller, int PermitLimit, TimeSpan Window);

/// <summary>One compiled limit: the callers it applies to, and its budget.</summary>
internal sealed record CallerLimit(SpiffeIdAuthorizer Callers, int PermitLimit, TimeSpan Window);

/// <summary>
/// The compiled rate limits, in configuration order (the first whose callers match applies): one immutable snapshot,
/// built per accepted configuration and swapped by reference (<see cref="LastGoodOptions{TCompiled}"/>), so a request
/// reads one consistent set of limits without a lock.
/// </summary>
internal sealed class CallerRateLimits(ImmutableArray<CallerLimit> limits)
{
    public ImmutableArray<CallerLimit> Limits { get; } = limits;

    /// <summary>Compiles validated options (<see cref="SecureCommsRateLimitOptionsValidator"/> reported any problem).</summary>
    internal static CallerRateLimits Compile(SecureCommsRateLimitOptions options, List<string> errors)
    {
        ImmutableArray<CallerLimit>.Builder limits = ImmutableArray.CreateBuilder<CallerLimit>(options.RateLimits.Count);
        foreach (CallerRateLimitOptions limit in options.RateLimits)
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
                limits.Add(new CallerLimit(SpiffeIdAuthorizer.AnyOf([.. authorizers]), limit.PermitLimit, limit.Window));
            }
        }

        return new CallerRateLimits(limits.DrainToImmutable());
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
