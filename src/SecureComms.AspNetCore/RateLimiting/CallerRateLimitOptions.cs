namespace SecureComms;

/// <summary>
/// A per-caller request budget (<c>SecureComms:Authorization:RateLimits:{n}</c>): each caller whose SPIFFE ID matches
/// <see cref="Callers"/> gets its own fixed window of <see cref="PermitLimit"/> requests per <see cref="Window"/>;
/// beyond it, 429. The first matching entry applies; callers matching none are not limited.
/// </summary>
public sealed class CallerRateLimitOptions
{
    /// <summary>Caller SPIFFE ID patterns (same forms as rule callers, including <c>*</c>). Required.</summary>
    public IList<string> Callers { get; } = [];

    /// <summary>Requests allowed per window, per caller. Required, at least 1.</summary>
    public int PermitLimit { get; set; }

    /// <summary>Window length. Default 1 second.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The per-caller rate limits of the central policy, bound from the same <c>SecureComms:Authorization</c> section
/// (<c>SecureComms:Authorization:RateLimits</c>). Reloaded on change, a changed limit starting a new window at once; an
/// invalid change is refused with one warning (event 1900) and the last good limits stay in force.
/// </summary>
public sealed class SecureCommsRateLimitOptions
{
    /// <summary>Per-caller limits; the first entry whose callers match applies. Default: none.</summary>
    public IList<CallerRateLimitOptions> RateLimits { get; } = [];
}
