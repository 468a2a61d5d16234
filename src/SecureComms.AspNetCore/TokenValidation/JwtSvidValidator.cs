using System.Security.Claims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms;

/// <summary>
/// Validates JWT-SVIDs (SPIFFE JWT-SVID spec) locally against the JWT bundles streamed by the Workload API
/// (<see cref="WorkloadApiJwtBundleSource"/>): the algorithm from the spec's allow-list, the key chosen by <c>kid</c>
/// from the bundle of the trust domain the token's <c>sub</c> names (never another domain's), <c>aud</c>, and a required
/// <c>exp</c>. Whether the <c>sub</c> is the caller is checked per request by the authentication handler, so that a
/// cached verdict never skips it.
/// </summary>
internal sealed class JwtSvidValidator
{
    /// <summary>JWT-SVID §3: the JWS algorithms a JWT-SVID may be signed with (never <c>none</c>, never HMAC).</summary>
    internal static readonly string[] Algorithms = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"];

    /// <summary>The authentication type of a JWT-SVID's claims identity.</summary>
    internal const string AuthenticationType = "SecureComms.JwtSvid";

    /// <summary>How long the first request waits for the first JWT bundles before it is refused.</summary>
    internal static readonly TimeSpan FirstBundleWait = TimeSpan.FromSeconds(5);

    private readonly WorkloadApiJwtBundleSource _bundles;
    private readonly TokenValidationParameters _parameters;
    private readonly JsonWebTokenHandler _handler = new();
    private readonly string? _oauthIssuer;
    private readonly ILogger _logger;

    public JwtSvidValidator(IOptions<SecureCommsTokenValidationOptions> options, WorkloadApiJwtBundleSource bundles, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        _logger = loggerFactory.CreateLogger("SecureComms.TokenValidation");
        SecureCommsTokenValidationOptions settings = options.Value;
        _bundles = bundles;
        _oauthIssuer = settings.Issuer ?? settings.Authority?.ToString();
        _parameters = new TokenValidationParameters
        {
            ValidateIssuer = false, // JWT-SVID §3: iss is optional and not used for trust; the trust domain of sub is
            ValidateAudience = true,
            ValidAudience = settings.JwtSvidAudience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = settings.ClockSkew,
            LifetimeValidator = TokenLifetimeValidation.Using(timeProvider),
            ValidAlgorithms = Algorithms,
            TryAllIssuerSigningKeys = false, // the key is the one the kid names, in the sub's trust domain
            NameClaimType = "sub",
            AuthenticationType = AuthenticationType,
        };
        bundles.Start();
    }

    /// <summary>
    /// Whether <paramref name="token"/> is to be validated as a JWT-SVID when an OAuth authority is configured too: its
    /// <c>sub</c> is a SPIFFE ID, it carries no <c>cnf</c> (RFC 8705 tokens are bound), its <c>typ</c> is not
    /// <c>at+jwt</c> (RFC 9068 §2.1) and its <c>iss</c> is not the authority's. A wrong guess only refuses the token:
    /// each kind is validated in full against its own keys.
    /// </summary>
    public bool Recognizes(string token)
    {
        if (!TryRead(token, out JsonWebToken? jwt))
        {
            return false;
        }

        return jwt.TryGetPayloadValue("sub", out string? subject)
            && subject is not null
            && subject.StartsWith("spiffe://", StringComparison.Ordinal)
            && !jwt.TryGetPayloadValue("cnf", out object? _)
            && jwt.Typ is not ("at+jwt" or "application/at+jwt")
            && (_oauthIssuer is null || !jwt.TryGetPayloadValue("iss", out string? issuer) || issuer is null || !string.Equals(issuer.TrimEnd('/'), _oauthIssuer.TrimEnd('/'), StringComparison.Ordinal));
    }

    /// <summary>Validates <paramref name="token"/>; the verdict, or the <see cref="AccessTokenFailure"/> reason.</summary>
    public async ValueTask<(ValidatedAccessToken? Token, string? Failure)> ValidateAsync(string token)
    {
        if (!TryRead(token, out JsonWebToken? jwt))
        {
            return (null, AccessTokenFailure.Malformed);
        }

        // RFC 8725 §3.1 and JWT-SVID §3: the algorithm is checked against the allow-list, never taken from the token.
        if (Array.IndexOf(Algorithms, jwt.Alg) < 0)
        {
            return (null, AccessTokenFailure.AlgorithmNotAllowed);
        }

        // JWT-SVID §3: sub is the workload's SPIFFE ID; its trust domain chooses the bundle.
        if (!jwt.TryGetPayloadValue("sub", out string? subjectText) || !SpiffeId.TryParse(subjectText, out SpiffeId subject))
        {
            return (null, AccessTokenFailure.Malformed);
        }

        if (!_bundles.HasBundles && !await _bundles.WaitForBundlesAsync(FirstBundleWait, CancellationToken.None).ConfigureAwait(false))
        {
            TokenValidationLog.JwtBundlesUnavailable(_logger, FirstBundleWait);
            return (null, SecureCommsTelemetry.Reasons.JwtBundlesUnavailable);
        }

        // JWT-SVID §2.2: kid is required; only the key it names in the sub's own trust domain may verify the token.
        List<SecurityKey>? keys = null;
        if (!string.IsNullOrEmpty(jwt.Kid))
        {
            foreach (SecurityKey key in _bundles.GetKeys(subject.TrustDomain))
            {
                if (string.Equals(key.KeyId, jwt.Kid, StringComparison.Ordinal))
                {
                    (keys ??= []).Add(key);
                }
            }
        }

        if (keys is null)
        {
            return (null, AccessTokenFailure.UnknownSigningKey);
        }

        TokenValidationParameters parameters = _parameters.Clone();
        parameters.IssuerSigningKeys = keys;
        TokenValidationResult result = await _handler.ValidateTokenAsync(jwt, parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return (null, AccessTokenFailure.From(result.Exception));
        }

        if (result.ClaimsIdentity is not ClaimsIdentity identity || ValidatedAccessToken.From(identity, jwt, subject) is not { } validated)
        {
            return (null, AccessTokenFailure.Malformed);
        }

        TokenValidationLog.JwtSvidValidated(_logger, subject, jwt.Kid, subject.TrustDomain, validated.ExpiresAt);
        return (validated, null);
    }

    private static bool TryRead(string token, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JsonWebToken? jwt)
    {
        try
        {
            jwt = new JsonWebToken(token);
            return true;
        }
#pragma warning disable CA1031 // an unreadable token is a malformed one
        catch (Exception)
#pragma warning restore CA1031
        {
            jwt = null;
            return false;
        }
    }
}
