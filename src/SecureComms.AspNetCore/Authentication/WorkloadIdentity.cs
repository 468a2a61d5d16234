using System.Security.Claims;

namespace SecureComms;

/// <summary>
/// The calling workload's identity as SecureComms builds it: the usual claims, plus the parsed SPIFFE ID so that
/// per-request policy checks never parse it again.
/// </summary>
internal sealed class WorkloadIdentity : ClaimsIdentity
{
    public WorkloadIdentity(SpiffeId spiffeId)
        : base(
            [
                new Claim(SecureCommsClaimTypes.SpiffeId, spiffeId.ToString(), ClaimValueTypes.String, spiffeId.TrustDomain.Name),
                new Claim(SecureCommsClaimTypes.TrustDomain, spiffeId.TrustDomain.Name, ClaimValueTypes.String, spiffeId.TrustDomain.Name),
            ],
            SecureCommsDefaults.AuthenticationScheme,
            SecureCommsClaimTypes.SpiffeId,
            ClaimTypes.Role)
    {
        SpiffeId = spiffeId;
    }

    private WorkloadIdentity(WorkloadIdentity other)
        : base(other)
    {
        SpiffeId = other.SpiffeId;
    }

    public SpiffeId SpiffeId { get; }

    public override ClaimsIdentity Clone() => new WorkloadIdentity(this);
}
