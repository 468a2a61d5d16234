using System.Security.Claims;

namespace SecureComms.AspNetCore.Tests.Authentication;

/// <summary>
/// The claims of each caller SPIFFE ID are built once and shared by every request of that caller; callers are many in
/// a large mesh, so the shared claims are held for at most <see cref="WorkloadIdentity.MaxCachedCallers"/> of them,
/// the callers seen since the last sweep kept.
/// </summary>
[TestClass]
public sealed class WorkloadIdentityCacheTests
{
    [TestMethod]
    public void ThreeTimesTheLimitInDistinctCallers_NeverHoldMoreClaimsThanTheLimit_AndAHotCallerKeepsItsClaims()
    {
        var hot = SpiffeId.Parse("spiffe://example.org/hot-caller");
        Claim first = new WorkloadIdentity(hot).Claims.First();

        for (int i = 0; i < 3 * WorkloadIdentity.MaxCachedCallers; i++)
        {
            _ = new WorkloadIdentity(SpiffeId.Parse($"spiffe://example.org/flood/{i}"));
            if (i % 100 == 0)
            {
                Assert.AreSame(first, new WorkloadIdentity(hot).Claims.First(), $"the hot caller's shared claims after {i} others");
            }
        }

        // Other test classes may build identities at the same time: each insertion in flight may add one entry.
        Assert.IsLessThanOrEqualTo(WorkloadIdentity.MaxCachedCallers + 64, WorkloadIdentity.CachedCallers);
        Assert.AreSame(first, new WorkloadIdentity(hot).Claims.First());
    }
}
