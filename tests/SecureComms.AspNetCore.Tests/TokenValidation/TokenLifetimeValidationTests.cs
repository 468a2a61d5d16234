using Microsoft.IdentityModel.Tokens;

namespace SecureComms.AspNetCore.Tests.TokenValidation;

/// <summary>
/// The lifetime check of access tokens and JWT-SVIDs, at its edges: <c>exp</c> required, the skew widening the window
/// on both sides by exactly its length, and the time read from the <see cref="TimeProvider"/>.
/// </summary>
[TestClass]
public sealed class TokenLifetimeValidationTests
{
    private static readonly DateTime Now = new(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(30);

    private static bool Validate(DateTime? notBefore, DateTime? expires) =>
        TokenLifetimeValidation.Using(new FakeTimeProvider(new DateTimeOffset(Now)))(notBefore, expires, null, new TokenValidationParameters { ClockSkew = Skew });

    [TestMethod]
    [DataRow(-29, DisplayName = "expired less than the skew ago")]
    [DataRow(1, DisplayName = "expires in a second")]
    public void TokenWithinItsLifetime_IsValid(int expiresInSeconds)
    {
        Assert.IsTrue(Validate(Now.AddMinutes(-1), Now.AddSeconds(expiresInSeconds)));
    }

    [TestMethod]
    [DataRow(-30, DisplayName = "expired exactly the skew ago")]
    [DataRow(-31, DisplayName = "expired more than the skew ago")]
    [DataRow(-3600, DisplayName = "expired an hour ago")]
    public void ExpiredToken_IsRefused_AsExpired(int expiresInSeconds)
    {
        DateTime expires = Now.AddSeconds(expiresInSeconds);

        SecurityTokenExpiredException refused = Assert.ThrowsExactly<SecurityTokenExpiredException>(() => Validate(null, expires));

        Assert.AreEqual(expires, refused.Expires);
    }

    [TestMethod]
    public void TokenWithoutExp_IsRefused()
    {
        Assert.ThrowsExactly<SecurityTokenNoExpirationException>(() => Validate(Now.AddMinutes(-1), null));
    }

    [TestMethod]
    [DataRow(30, DisplayName = "valid from exactly the skew ahead")]
    [DataRow(29, DisplayName = "valid from less than the skew ahead")]
    [DataRow(-60, DisplayName = "valid since a minute")]
    public void NotBeforeWithinTheSkew_IsValid(int notBeforeInSeconds)
    {
        Assert.IsTrue(Validate(Now.AddSeconds(notBeforeInSeconds), Now.AddHours(1)));
    }

    [TestMethod]
    [DataRow(31, DisplayName = "valid from a second beyond the skew")]
    [DataRow(3600, DisplayName = "valid from in an hour")]
    public void TokenNotYetValid_IsRefused_AsNotYetValid(int notBeforeInSeconds)
    {
        DateTime notBefore = Now.AddSeconds(notBeforeInSeconds);

        SecurityTokenNotYetValidException refused = Assert.ThrowsExactly<SecurityTokenNotYetValidException>(() => Validate(notBefore, Now.AddHours(2)));

        Assert.AreEqual(notBefore, refused.NotBefore);
    }

    [TestMethod]
    public void MissingNotBefore_AsIdentityModelPassesIt_IsValid()
    {
        // IdentityModel passes DateTime.MinValue for a missing nbf after a failed key lookup: no arithmetic on it may overflow.
        Assert.IsTrue(Validate(DateTime.MinValue, Now.AddMinutes(5)));
        Assert.IsTrue(Validate(null, DateTime.MaxValue));
    }
}
