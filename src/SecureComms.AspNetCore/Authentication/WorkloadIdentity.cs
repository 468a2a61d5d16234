using System.Collections.Concurrent;
using System.Security.Claims;

namespace SecureComms;

/// <summary>
/// The calling workload's identity as SecureComms builds it: the usual claims, plus the parsed SPIFFE ID so that
/// per-request policy checks never parse it again. The claims of a SPIFFE ID are built once and shared.
/// </summary>
internal sealed class WorkloadIdentity : SharedClaimsIdentity
{
    private const int MaxCachedCallers = 10_000;
    private static readonly ConcurrentDictionary<SpiffeId, Claim[]> ClaimsByCaller = new();

    public WorkloadIdentity(SpiffeId spiffeId)
        : base(ClaimsOf(spiffeId), SecureCommsDefaults.AuthenticationScheme, SecureCommsClaimTypes.SpiffeId, ClaimTypes.Role)
    {
        SpiffeId = spiffeId;
    }

    public SpiffeId SpiffeId { get; }

    private WorkloadIdentity(WorkloadIdentity other)
        : base(other)
    {
        SpiffeId = other.SpiffeId;
    }

    public override ClaimsIdentity Clone() => new WorkloadIdentity(this);

    private static Claim[] ClaimsOf(SpiffeId id)
    {
        if (ClaimsByCaller.TryGetValue(id, out Claim[]? claims))
        {
            return claims;
        }

        if (ClaimsByCaller.Count >= MaxCachedCallers)
        {
            ClaimsByCaller.Clear(); // many distinct callers: start over rather than grow without bound
        }

        string issuer = id.TrustDomain.Name;
        claims =
        [
            SharedClaim(SecureCommsClaimTypes.SpiffeId, id.ToString(), ClaimValueTypes.String, issuer),
            SharedClaim(SecureCommsClaimTypes.TrustDomain, issuer, ClaimValueTypes.String, issuer),
        ];
        return ClaimsByCaller.GetOrAdd(id, claims);
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
