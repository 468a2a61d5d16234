using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms;

/// <summary>
/// Configures the internal JwtBearer scheme that SecureComms' authentication handler calls to validate access tokens:
/// the issuer's metadata and JWKS from <see cref="IssuerSigningKeys"/> (on an unknown <c>kid</c> the keys are fetched
/// again, at most once per <see cref="SecureCommsTokenValidationOptions.KeyRefreshMinInterval"/>, and the same token is
/// validated again), an algorithm allow-list, <c>typ</c> <c>at+jwt</c>, exact issuer and audience, lifetime from
/// <see cref="TimeProvider"/> with a bounded skew, and the <c>cnf</c> claim read as the token carries it.
/// </summary>
internal sealed class AccessTokenJwtBearerSetup(
    IOptions<SecureCommsTokenValidationOptions> tokenOptions,
    ICertificateSource certificates,
    PeerCertificateValidator validator,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory) : IConfigureNamedOptions<JwtBearerOptions>
{
    internal const string Scheme = "SecureComms.AccessToken";

    /// <summary>The authentication property under which a validated token's <see cref="ValidatedAccessToken"/> travels to SecureComms' handler.</summary>
    internal const string ValidatedTokenProperty = "SecureComms.ValidatedAccessToken";

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
        options.RefreshOnIssuerKeyNotFound = false; // AccessTokenHandler refreshes on an unknown kid, and validates the token again
        options.TimeProvider = timeProvider;

        // Our own key source rather than JwtBearer's ConfigurationManager (see IssuerSigningKeys). Its HTTP client is
        // built at the first fetch, over the backchannel handler these options end up with, and with JwtBearer's limits.
        var backchannel = new Lazy<HttpClient>(() => new HttpClient(options.BackchannelHttpHandler ?? new HttpClientHandler(), disposeHandler: false)
        {
            Timeout = options.BackchannelTimeout,
            MaxResponseContentBufferSize = 1024 * 1024 * 10,
        });
        string metadataAddress = (options.Authority ?? string.Empty).TrimEnd('/') + "/.well-known/openid-configuration";
        var keys = new IssuerSigningKeys(
            () => (metadataAddress, backchannel.Value),
            () => options.Configuration,
            settings.KeyRefreshMinInterval,
            timeProvider,
            loggerFactory.CreateLogger("SecureComms.TokenValidation"));
        options.MetadataAddress = metadataAddress;
        options.ConfigurationManager = keys;
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
        options.TokenHandlers.Add(new AccessTokenHandler(keys)); // validated tokens are remembered by ValidatedTokenCache
        options.Events = new JwtBearerEvents
        {
            OnTokenValidated = CaptureValidatedToken,

            // A failure JwtBearer did not expect (no keys yet, a cancelled request) is a refusal too: never rethrown as a 500.
            OnAuthenticationFailed = static context =>
            {
                context.Fail(context.Exception);
                return Task.CompletedTask;
            },
        };
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
            LifetimeValidator = TokenLifetimeValidation.Using(timeProvider),
            ValidAlgorithms = [.. settings.EffectiveAlgorithms],
            ValidTypes = settings.RequireAccessTokenType ? ["at+jwt", "application/at+jwt"] : null, // RFC 9068 §4
            NameClaimType = "sub",
        };
    }

    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);

    /// <summary>
    /// The validated token's claims and <c>cnf</c> binding, read from the token itself (the JSON type of <c>cnf</c> is
    /// not visible in the claims: a one-element array looks like an object there), for SecureComms' handler.
    /// </summary>
    private static Task CaptureValidatedToken(TokenValidatedContext context)
    {
        if (context.SecurityToken is JsonWebToken jwt
            && context.Principal?.Identity is System.Security.Claims.ClaimsIdentity identity
            && ValidatedAccessToken.From(identity, jwt) is { } validated)
        {
            context.Properties.SetParameter(ValidatedTokenProperty, validated);
        }
        else
        {
            context.Fail(new SecurityTokenMalformedException("The validated token could not be read."));
        }

        return Task.CompletedTask;
    }
}
