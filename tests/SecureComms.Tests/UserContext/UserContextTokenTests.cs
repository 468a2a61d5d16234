using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using SecureComms.Testing;

namespace SecureComms.Tests.UserContext;

/// <summary>Minting, reuse, forwarding and verification of user contexts, with real SVIDs and a fake clock.</summary>
[TestClass]
public sealed class UserContextTokenTests
{
    private static readonly SpiffeId Gateway = SpiffeId.Parse("spiffe://example.org/gateway");
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");
    private static readonly SpiffeId Billing = SpiffeId.Parse("spiffe://example.org/billing");

    [TestMethod]
    public async Task MintedContext_CarriesSelectedClaims_AndVerifies_AtTheReceiver()
    {
        using var world = new World();
        string? token = world.GatewayMinter.MintForUser(User("alice", "buyer", "auditor"), Billing.ToString(), TimeSpan.FromMinutes(2), ["role"]);

        Assert.IsNotNull(token);
        JsonWebToken jwt = new(token);
        Assert.AreEqual(SecureCommsUserContext.TokenType, jwt.Typ);
        Assert.AreEqual(Gateway.ToString(), jwt.Issuer);
        Assert.AreEqual(120, (int)(jwt.ValidTo - jwt.IssuedAt).TotalSeconds);
        Assert.IsFalse(jwt.TryGetPayloadValue("name", out string _), "only the selected claims travel");

        UserContextVerdict verdict = await world.BillingValidator.ValidateAsync(token, Gateway, Billing);
        Assert.IsNull(verdict.Failure);
        Assert.AreEqual("alice", verdict.User!.Subject);
        Assert.AreSequenceEqual(new[] { "buyer", "auditor" }, verdict.User.FindAll("role").Select(c => c.Value).ToArray());
        Assert.AreSequenceEqual(new[] { Gateway }, verdict.User.Actors.ToArray());
    }

    [TestMethod]
    public void MintedContext_IsReusedUntilHalfItsLifetime_ThenMintedAgain()
    {
        using var world = new World();
        ClaimsPrincipal alice = User("alice", "buyer");
        string first = world.GatewayMinter.MintForUser(alice, Billing.ToString(), TimeSpan.FromMinutes(2), ["role"])!;

        world.Clock.Advance(TimeSpan.FromSeconds(59));
        Assert.AreSame(first, world.GatewayMinter.MintForUser(alice, Billing.ToString(), TimeSpan.FromMinutes(2), ["role"]));
        Assert.AreNotSame(first, world.GatewayMinter.MintForUser(User("bob", "buyer"), Billing.ToString(), TimeSpan.FromMinutes(2), ["role"]), "another user");

        world.Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.AreNotEqual(first, world.GatewayMinter.MintForUser(alice, Billing.ToString(), TimeSpan.FromMinutes(2), ["role"]));
    }

    [TestMethod]
    public async Task ForwardedContext_NeverOutlivesTheOneItWraps_AndExpiresWithIt()
    {
        using var world = new World();
        string minted = world.GatewayMinter.MintForUser(User("alice", "buyer"), Orders.ToString(), TimeSpan.FromMinutes(1), ["role"])!;
        UserContextVerdict atOrders = await world.OrdersValidator.ValidateAsync(minted, Gateway, Orders);
        Assert.IsNull(atOrders.Failure);

        string forwarded = world.OrdersMinter.Forward(atOrders.User!, Billing.ToString(), TimeSpan.FromMinutes(10))!;
        Assert.AreEqual(new JsonWebToken(minted).ValidTo, new JsonWebToken(forwarded).ValidTo);

        UserContextVerdict atBilling = await world.BillingValidator.ValidateAsync(forwarded, Orders, Billing);
        Assert.IsNull(atBilling.Failure);
        Assert.AreSequenceEqual(new[] { Gateway, Orders }, atBilling.User!.Actors.ToArray());

        world.Clock.Advance(TimeSpan.FromMinutes(2)); // beyond exp + 30 s skew: the remembered verdict is not used either
        Assert.AreEqual(SecureCommsTelemetry.Reasons.UserContextExpired, (await world.BillingValidator.ValidateAsync(forwarded, Orders, Billing)).Failure);
        Assert.IsNull(world.OrdersMinter.Forward(atOrders.User!, Billing.ToString(), TimeSpan.FromMinutes(1)), "an expired context is not forwarded");
    }

    [TestMethod]
    public async Task ChainLongerThanAllowed_IsRefused()
    {
        using var world = new World(maxChainLength: 1);
        string minted = world.GatewayMinter.MintForUser(User("alice"), Orders.ToString(), TimeSpan.FromMinutes(1), ["role"])!;
        UserContextVerdict atOrders = await world.OrdersValidator.ValidateAsync(minted, Gateway, Orders);
        string forwarded = world.OrdersMinter.Forward(atOrders.User!, Billing.ToString(), TimeSpan.FromMinutes(1))!;

        Assert.AreEqual(SecureCommsTelemetry.Reasons.UserContextChainTooLong, (await world.BillingValidator.ValidateAsync(forwarded, Orders, Billing)).Failure);
    }

    private static ClaimsPrincipal User(string subject, params string[] roles)
    {
        var claims = new List<Claim> { new("sub", subject), new("name", subject + " Example") };
        claims.AddRange(roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, "Edge"));
    }

    private sealed class World : IDisposable
    {
        private readonly DevelopmentCertificateAuthority _ca;

        public World(int maxChainLength = 4)
        {
            Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            _ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
            var validator = new PeerCertificateValidator(new InMemoryTrustBundleSource(_ca.CreateTrustBundle()), Clock);
            GatewayMinter = new UserContextMinter(new InMemoryCertificateSource(_ca.IssueSvid(Gateway)), Clock);
            OrdersMinter = new UserContextMinter(new InMemoryCertificateSource(_ca.IssueSvid(Orders)), Clock);
            OrdersValidator = new UserContextValidator(validator, Clock, Trust(maxChainLength, forwarders: false));
            BillingValidator = new UserContextValidator(validator, Clock, Trust(maxChainLength, forwarders: true));
        }

        public FakeTimeProvider Clock { get; }

        public UserContextMinter GatewayMinter { get; }

        public UserContextMinter OrdersMinter { get; }

        public UserContextValidator OrdersValidator { get; }

        public UserContextValidator BillingValidator { get; }

        public void Dispose() => _ca.Dispose();

        private static IOptions<SecureCommsOptions> Trust(int maxChainLength, bool forwarders)
        {
            var options = new SecureCommsOptions { UserContext = { MaxChainLength = maxChainLength } };
            options.UserContext.TrustedGateways.Add(Gateway.ToString());
            if (forwarders)
            {
                options.UserContext.TrustedForwarders.Add(Orders.ToString());
            }

            return Options.Create(options);
        }
    }
}
