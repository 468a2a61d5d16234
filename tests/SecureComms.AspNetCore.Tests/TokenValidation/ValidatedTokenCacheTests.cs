using System.Buffers.Text;
using System.Globalization;
using System.Security.Claims;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace SecureComms.AspNetCore.Tests.TokenValidation;

[TestClass]
public sealed class ValidatedTokenCacheTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [TestMethod]
    public void Entry_IsServedUntilExp_ThenDropped()
    {
        var cache = new ValidatedTokenCache(Options.Create(new SecureCommsTokenValidationOptions { ValidatedTokenCacheSize = 10 }));
        Sha256Key digest = Sha256Key.Of("header.payload.signature");
        cache.Add(digest, Token(Now.AddMinutes(5)), Now);

        bool beforeExp = cache.TryGet(digest, Now.AddMinutes(5).AddSeconds(-1), out _);
        bool atExp = cache.TryGet(digest, Now.AddMinutes(5), out _);

        Assert.IsTrue(beforeExp);
        Assert.IsFalse(atExp);
        Assert.AreEqual(0, cache.Count, "an expired entry is removed when found");
    }

    [TestMethod]
    public void DifferentTokens_HaveDifferentDigests_AndTheSameTokenTheSameDigest()
    {
        Assert.AreEqual(Sha256Key.Of("a.b.c"), Sha256Key.Of("a.b.c".AsSpan()));
        Assert.AreNotEqual(Sha256Key.Of("a.b.c"), Sha256Key.Of("a.b.d"));
        Assert.AreEqual(Sha256Key.Of(new string('x', 5000)), Sha256Key.Of(new string('x', 5000)), "long tokens hash through a pooled buffer");
    }

    [TestMethod]
    public void FullCache_DropsExpiredEntriesFirst_AndNeverGrowsBeyondItsCapacity()
    {
        var cache = new ValidatedTokenCache(Options.Create(new SecureCommsTokenValidationOptions { ValidatedTokenCacheSize = 2 }));
        cache.Add(Sha256Key.Of("short-lived"), Token(Now.AddSeconds(10)), Now);
        cache.Add(Sha256Key.Of("long-lived"), Token(Now.AddHours(1)), Now);

        cache.Add(Sha256Key.Of("new"), Token(Now.AddHours(1)), Now.AddMinutes(1));

        Assert.IsFalse(cache.TryGet(Sha256Key.Of("short-lived"), Now.AddMinutes(1), out _));
        Assert.IsTrue(cache.TryGet(Sha256Key.Of("long-lived"), Now.AddMinutes(1), out _));
        Assert.IsTrue(cache.TryGet(Sha256Key.Of("new"), Now.AddMinutes(1), out _));
        Assert.IsLessThanOrEqualTo(2, cache.Count);
    }

    [TestMethod]
    public void DisabledCache_RemembersNothing()
    {
        var cache = new ValidatedTokenCache(Options.Create(new SecureCommsTokenValidationOptions { ValidatedTokenCacheSize = 0 }));
        Sha256Key digest = Sha256Key.Of("a.b.c");

        cache.Add(digest, Token(Now.AddHours(1)), Now);

        Assert.IsFalse(cache.Enabled);
        Assert.IsFalse(cache.TryGet(digest, Now, out _));
    }

    [TestMethod]
    public void HeaderObject_IsFoundByReference_NeverByEqualContent()
    {
        var cache = new ValidatedTokenCache(Options.Create(new SecureCommsTokenValidationOptions { ValidatedTokenCacheSize = 10 }));
        string header = "Bearer " + "header.payload.signature";
        string sameText = new(header.AsSpan());
        ValidatedAccessToken token = Token(Now.AddMinutes(5));

        cache.RememberHeader(header, token);

        Assert.IsTrue(cache.TryGetByHeader(header, Now, out ValidatedAccessToken? found));
        Assert.AreSame(token, found);
        Assert.IsFalse(cache.TryGetByHeader(sameText, Now, out _), "an equal string that is another object goes through the digest");
    }

    [TestMethod]
    public void HeaderObject_IsForgottenOnceItsTokenExpires()
    {
        var cache = new ValidatedTokenCache(Options.Create(new SecureCommsTokenValidationOptions { ValidatedTokenCacheSize = 10 }));
        string header = "Bearer a.b.c";
        cache.RememberHeader(header, Token(Now.AddMinutes(5)));

        bool atExp = cache.TryGetByHeader(header, Now.AddMinutes(5), out _);
        bool afterwards = cache.TryGetByHeader(header, Now, out _);

        Assert.IsFalse(atExp);
        Assert.IsFalse(afterwards, "an expired entry is removed when found, not served again to a clock that goes back");
    }

    [TestMethod]
    public void DisabledCache_RemembersNoHeaderObject()
    {
        var cache = new ValidatedTokenCache(Options.Create(new SecureCommsTokenValidationOptions { ValidatedTokenCacheSize = 0 }));
        string header = "Bearer a.b.c";

        cache.RememberHeader(header, Token(Now.AddHours(1)));

        Assert.IsFalse(cache.TryGetByHeader(header, Now, out _));
    }

    [TestMethod]
    public void ValidatedToken_ReadsExpAndBinding_AndRefusesATokenWithoutExp()
    {
        ValidatedAccessToken bound = Token(Now.AddMinutes(5), """{"x5t#S256":"abc"}""");
        ValidatedAccessToken malformed = Token(Now.AddMinutes(5), "\"not an object\"");
        JsonWebToken withoutExp = Jwt("""{"sub":"orders"}""");

        Assert.AreEqual(Now.AddMinutes(5), bound.ExpiresAt);
        Assert.AreEqual("abc", bound.BoundThumbprint);
        Assert.IsFalse(bound.BindingMalformed);
        Assert.IsTrue(malformed.BindingMalformed);
        Assert.IsNull(ValidatedAccessToken.From(new ClaimsIdentity(withoutExp.Claims, "test"), withoutExp));
    }

    [TestMethod]
    public void ExpAtTheLastSecondOfTheYear9999_IsRead_AndOneSecondLaterRefused()
    {
        long last = DateTimeOffset.MaxValue.ToUnixTimeSeconds();
        JsonWebToken atLast = Jwt($$"""{"sub":"orders","exp":{{last.ToString(CultureInfo.InvariantCulture)}}}""");
        JsonWebToken beyond = Jwt($$"""{"sub":"orders","exp":{{(last + 1).ToString(CultureInfo.InvariantCulture)}}}""");

        ValidatedAccessToken? read = ValidatedAccessToken.From(new ClaimsIdentity(atLast.Claims, "test"), atLast);

        Assert.IsNotNull(read, "the last representable second is a usable exp");
        Assert.AreEqual(DateTimeOffset.FromUnixTimeSeconds(last), read.ExpiresAt);
        Assert.IsNull(ValidatedAccessToken.From(new ClaimsIdentity(beyond.Claims, "test"), beyond), "no DateTimeOffset holds it");
    }

    [TestMethod]
    public void EachRequestIdentity_SharesTheClaims_UntilItChangesThem()
    {
        ValidatedAccessToken token = Token(Now.AddMinutes(5));
        ClaimsIdentity first = token.CreateIdentity();
        ClaimsIdentity second = token.CreateIdentity();

        first.AddClaim(new Claim("added", "1"));
        ClaimsIdentity clone = first.Clone();

        Assert.AreEqual("orders", second.FindFirst("sub")?.Value);
        Assert.IsNull(second.FindFirst("added"), "the other request's identity is untouched");
        Assert.AreEqual("1", first.FindFirst("added")?.Value);
        Assert.AreEqual(first.Claims.Count(), clone.Claims.Count(), "a clone keeps the claims added so far");
        Assert.IsTrue(first.Claims.All(c => ReferenceEquals(c.Subject, first)), "copied claims belong to the identity that copied them");
        Assert.IsTrue(second.HasClaim("sub", "orders"));
        Assert.AreEqual("orders", second.Name, "sub is the name claim, as JwtBearer set it");
    }

    /// <summary>A token as JwtBearer hands it over: the payload with <paramref name="cnfJson"/> as its raw <c>cnf</c> member, and its claims.</summary>
    private static ValidatedAccessToken Token(DateTimeOffset expires, string? cnfJson = null)
    {
        JsonWebToken jwt = Jwt($$"""{"sub":"orders","exp":{{expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}}{{(cnfJson is null ? string.Empty : ",\"cnf\":" + cnfJson)}}}""");
        return ValidatedAccessToken.From(new ClaimsIdentity(jwt.Claims, "SecureComms.AccessToken", "sub", "role"), jwt)!;
    }

    private static JsonWebToken Jwt(string payloadJson) =>
        new($"{Base64Url.EncodeToString("""{"alg":"ES256","typ":"at+jwt"}"""u8)}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payloadJson))}.c2ln");
}
