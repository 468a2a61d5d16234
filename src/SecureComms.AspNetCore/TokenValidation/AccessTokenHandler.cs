using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms;

/// <summary>
/// IdentityModel's <see cref="JsonWebTokenHandler"/> as JwtBearer calls it, with two additions on a failed validation
/// only (a valid token costs nothing more):
/// <list type="bullet">
/// <item>a header <c>alg</c> outside the allow-list is reported as <see cref="SecurityTokenInvalidAlgorithmException"/>
/// whatever IdentityModel found first (<c>none</c> surfaces as an unsigned token, a made-up algorithm as a missing
/// key): the refusal names the real problem, and such a token never triggers a key refresh;</item>
/// <item>an unknown <c>kid</c> makes <see cref="IssuerSigningKeys"/> fetch the issuer's keys (rate-limited, one fetch
/// at a time) and the SAME token is validated again with them, so a key rotation refuses no request.</item>
/// </list>
/// </summary>
internal sealed class AccessTokenHandler(IssuerSigningKeys keys) : JsonWebTokenHandler
{
    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        ArgumentNullException.ThrowIfNull(validationParameters);
        TokenValidationResult result = await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        if (result.IsValid || !TryReadHeader(token, out string? algorithm, out string? keyId))
        {
            return result;
        }

        // RFC 8725 §3.1: the algorithm is checked against an allow-list, never taken from the token.
        if (validationParameters.ValidAlgorithms is { } allowed && (string.IsNullOrEmpty(algorithm) || !allowed.Contains(algorithm, StringComparer.Ordinal)))
        {
            return new TokenValidationResult
            {
                IsValid = false,
                Exception = new SecurityTokenInvalidAlgorithmException("The token's signing algorithm is not allowed.") { InvalidAlgorithm = algorithm },
            };
        }

        if (result.Exception is not SecurityTokenSignatureKeyNotFoundException)
        {
            return result;
        }

        OpenIdConnectConfiguration? refreshed = await keys.RefreshForUnknownKeyAsync(keyId, CancellationToken.None).ConfigureAwait(false);
        if (refreshed is null)
        {
            return result;
        }

        TokenValidationParameters again = validationParameters.Clone();
        again.IssuerSigningKeys = refreshed.SigningKeys;
        return await base.ValidateTokenAsync(token, again).ConfigureAwait(false);
    }

    private static bool TryReadHeader(string token, out string? algorithm, out string? keyId)
    {
        algorithm = null;
        keyId = null;
        try
        {
            var jwt = new JsonWebToken(token);
            algorithm = jwt.Alg;
            keyId = jwt.Kid;
            return true;
        }
#pragma warning disable CA1031 // an unreadable token keeps the failure IdentityModel reported
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }
}
