using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms;

/// <summary>
/// Configures the internal JwtBearer scheme that SecureComms' authentication handler calls to validate access tokens:
/// JwtBearer's metadata and JWKS handling (refresh on an unknown <c>kid</c>, at most once per
/// <see cref="SecureCommsTokenValidationOptions.KeyRefreshMinInterval"/>), an algorithm allow-list, <c>typ</c>
/// <c>at+jwt</c>, exact issuer and audience, lifetime from <see cref="TimeProvider"/> with a bounded skew.
/// </summary>
internal sealed class AccessTokenJwtBearerSetup(
    IOptions<SecureCommsTokenValidationOptions> tokenOptions,
    ICertificateSource certificates,
    PeerCertificateValidator validator,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory) : IConfigureNamedOptions<JwtBearerOptions>
{
    internal const string Scheme = "SecureComms.AccessToken";

    public void Configure(string? name, JwtBearerOptions options)
    {
        if (name != Scheme)
        {
            return;
        }

        SecureCommsTokenValidationOptions settings = tokenOptions.Value;
        options.Authority = settings.Authority?.ToString();
        options.RequireHttpsMetadata = true;
        options.MapInboundClaims = false;
        options.RefreshOnIssuerKeyNotFound = true;
        options.RefreshInterval = settings.KeyRefreshMinInterval;
        options.TimeProvider = timeProvider;
        options.BackchannelHttpHandler = new MtlsClientHandler(
            "token validation (metadata)",
            new SecureClientOptions(),
            settings.ExpectedServer is null ? null : SpiffeIdAuthorizer.Parse(settings.ExpectedServer),
            certificates,
            validator,
            timeProvider,
            loggerFactory.CreateLogger("SecureComms.Client"),
            serverCaBundle: settings.ServerCaBundlePath is null ? null : ServerCaBundle.Load(SecureCommsOptions.SectionName + ":TokenValidation:ServerCaBundlePath", settings.ServerCaBundlePath));
        options.TokenHandlers.Clear();
        options.TokenHandlers.Add(new JsonWebTokenHandler()); // validated tokens are remembered by ValidatedTokenCache
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = settings.Issuer,
            ValidateAudience = true,
            ValidAudience = settings.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = settings.ClockSkew,
            LifetimeValidator = ValidateLifetime,
            ValidAlgorithms = [.. settings.EffectiveAlgorithms],
            ValidTypes = settings.RequireAccessTokenType ? ["at+jwt", "application/at+jwt"] : null, // RFC 9068 §4
            NameClaimType = "sub",
        };
    }

    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);

    /// <summary><c>exp</c> and <c>nbf</c> against <see cref="TimeProvider"/>, with the configured skew; the exception says which failed.</summary>
    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        DateTime now = timeProvider.GetUtcNow().UtcDateTime;
        if (expires is null)
        {
            throw new SecurityTokenNoExpirationException("The token has no expiration time.");
        }

        if (expires.Value.Add(parameters.ClockSkew) <= now)
        {
            throw new SecurityTokenExpiredException("The token expired.") { Expires = expires.Value };
        }

        if (notBefore is { } nbf && nbf - parameters.ClockSkew > now)
        {
            throw new SecurityTokenNotYetValidException("The token is not valid yet.") { NotBefore = nbf };
        }

        return true;
    }
}
