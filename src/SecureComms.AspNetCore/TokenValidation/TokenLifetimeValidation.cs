using Microsoft.IdentityModel.Tokens;

namespace SecureComms;

/// <summary>
/// The <c>exp</c> and <c>nbf</c> check shared by bound access tokens and JWT-SVIDs, against <see cref="TimeProvider"/>.
/// <c>exp</c> is required; the exception says which check failed. IdentityModel also calls it after a failed key lookup,
/// with <see cref="DateTime.MinValue"/> for a missing <c>nbf</c> (RFC 9068 does not require one): the skew is applied to
/// "now", never to the token's times, so no arithmetic can leave the range of <see cref="DateTime"/>.
/// </summary>
internal static class TokenLifetimeValidation
{
    /// <summary>A <see cref="LifetimeValidator"/> that reads the time from <paramref name="timeProvider"/>.</summary>
    internal static LifetimeValidator Using(TimeProvider timeProvider) =>
        (notBefore, expires, _, parameters) => Validate(timeProvider.GetUtcNow().UtcDateTime, notBefore, expires, parameters.ClockSkew);

    private static bool Validate(DateTime now, DateTime? notBefore, DateTime? expires, TimeSpan clockSkew)
    {
        if (expires is null)
        {
            throw new SecurityTokenNoExpirationException("The token has no expiration time.");
        }

        if (expires.Value <= now - clockSkew)
        {
            throw new SecurityTokenExpiredException("The token expired.") { Expires = expires.Value };
        }

        if (notBefore is { } nbf && nbf > now + clockSkew)
        {
            throw new SecurityTokenNotYetValidException("The token is not valid yet.") { NotBefore = nbf };
        }

        return true;
    }
}
