using System.Security.Claims;

namespace SecureComms;

/// <summary>
/// The calling workload's identity as SecureComms builds it: the usual claims, plus the parsed SPIFFE ID so that
/// per-request policy checks never parse it again. The claims of a SPIFFE ID are built once and shared, for at most
/// <see cref="MaxCachedCallers"/> callers; when that many are held, the callers not seen since the last sweep go
/// (<see cref="BoundedCache{TKey, TValue}"/>). The claims are a function of the ID alone, so they need no expiry.
/// </summary>
internal sealed class WorkloadIdentity : SharedClaimsIdentity
{
    internal const int MaxCachedCallers = 10_000;
    private static readonly BoundedCache<SpiffeId, Claim[]> ClaimsByCaller = new(MaxCachedCallers);

    public WorkloadIdentity(SpiffeId spiffeId)
        : base(ClaimsOf(spiffeId), SecureCommsDefaults.AuthenticationScheme, SecureCommsClaimTypes.SpiffeId, ClaimTypes.Role)
    {
        SpiffeId = spiffeId;
    }

    public SpiffeId SpiffeId { get; }

    /// <summary>The callers whose claims are held now (for tests and the soak run).</summary>
    internal static int CachedCallers => ClaimsByCaller.Count;

    private WorkloadIdentity(WorkloadIdentity other)
        : base(other)
    {
        SpiffeId = other.SpiffeId;
    }

    public override ClaimsIdentity Clone() => new WorkloadIdentity(this);

    private static Claim[] ClaimsOf(SpiffeId id)
    {
        if (ClaimsByCaller.TryGet(id, DateTimeOffset.MinValue, out Claim[]? claims))
        {
            return claims;
        }

        string issuer = id.TrustDomain.Name;
        claims =
        [
            SharedClaim(SecureCommsClaimTypes.SpiffeId, id.ToString(), ClaimValueTypes.String, issuer),
            SharedClaim(SecureCommsClaimTypes.TrustDomain, issuer, ClaimValueTypes.String, issuer),
        ];
        ClaimsByCaller.Set(id, claims, DateTimeOffset.MaxValue, DateTimeOffset.MinValue); // no expiry: the claims never change
        return claims;
    }
}

/// <summary>
/// The principal SecureComms' authentication handler produces: the workload identity first, then the access token's
/// identity when there is one. Keeps the workload identity at hand so per-request checks find it without a search.
/// </summary>
internal sealed class CallerPrincipal : ClaimsPrincipal
{
    public CallerPrincipal(WorkloadIdentity workload)
        : base(workload)
    {
        Workload = workload;
    }

    public WorkloadIdentity Workload { get; }
}
