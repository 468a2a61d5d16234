using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SecureComms.Testing;

namespace SecureComms.Tests.UserContext;

/// <summary>
/// Verified user contexts are remembered by their SHA-256 so that a context presented again skips its signature
/// checks; a gateway mints one per user, so the memory is bounded: at most the capacity, nothing past the context's
/// expiry (plus the clock skew), and the contexts in use kept through a flood of new ones.
/// </summary>
[TestClass]
public sealed class VerifiedUserContextCacheTests
{
    private const int Capacity = 8;
    private static readonly SpiffeId Gateway = SpiffeId.Parse("spiffe://example.org/gateway");
    private static readonly SpiffeId Billing = SpiffeId.Parse("spiffe://example.org/billing");

    [TestMethod]
    public async Task ThreeTimesTheCapacityInDistinctUsers_NeverGrowsTheCache_AndTheHotContextIsServedFromIt()
    {
        using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        UserContextValidator validator = Validator(ca, clock);
        var minter = new UserContextMinter(new InMemoryCertificateSource(ca.IssueSvid(Gateway)), clock);
        string hot = minter.MintForUser(User("alice"), Billing.ToString(), TimeSpan.FromMinutes(2), ["name"])!;
        EndUserIdentity alice = (await validator.ValidateAsync(hot, Gateway, Billing)).User!;

        for (int i = 0; i < 3 * Capacity; i++)
        {
            string context = minter.MintForUser(User("user-" + i), Billing.ToString(), TimeSpan.FromMinutes(2), ["name"])!;
            UserContextVerdict verdict = await validator.ValidateAsync(context, Gateway, Billing);
            Assert.IsNull(verdict.Failure);
            Assert.AreSame(alice, (await validator.ValidateAsync(hot, Gateway, Billing)).User, $"alice's context served from the cache after {i + 1} other users");
            Assert.IsLessThanOrEqualTo(Capacity, validator.VerifiedCount);
        }
    }

    [TestMethod]
    public async Task ExpiredContext_IsNotServedFromTheCache_AndGoes()
    {
        using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        UserContextValidator validator = Validator(ca, clock);
        var minter = new UserContextMinter(new InMemoryCertificateSource(ca.IssueSvid(Gateway)), clock);
        string context = minter.MintForUser(User("alice"), Billing.ToString(), TimeSpan.FromMinutes(2), ["name"])!;
        Assert.IsNull((await validator.ValidateAsync(context, Gateway, Billing)).Failure);
        Assert.AreEqual(1, validator.VerifiedCount);

        clock.Advance(TimeSpan.FromMinutes(2) + new SecureCommsOptions().UserContext.ClockSkew + TimeSpan.FromSeconds(1));

        Assert.IsNotNull((await validator.ValidateAsync(context, Gateway, Billing)).Failure, "past its expiry and the skew");
        Assert.AreEqual(0, validator.VerifiedCount);
    }

    private static UserContextValidator Validator(DevelopmentCertificateAuthority ca, FakeTimeProvider clock)
    {
        var options = new SecureCommsOptions();
        options.UserContext.TrustedGateways.Add(Gateway.ToString());
        var peers = new PeerCertificateValidator(new InMemoryTrustBundleSource(ca.CreateTrustBundle()), clock);
        return new UserContextValidator(peers, clock, Options.Create(options), Capacity);
    }

    private static ClaimsPrincipal User(string subject) =>
        new(new ClaimsIdentity([new Claim("sub", subject), new Claim("name", subject + " Example")], "Edge"));
}
