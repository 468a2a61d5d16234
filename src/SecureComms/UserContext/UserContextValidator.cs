using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms;

/// <summary>The outcome of checking a user context: the verified end user, or the reason it was refused.</summary>
internal readonly record struct UserContextVerdict(EndUserIdentity? User, string? Failure)
{
    public static UserContextVerdict Fail(string reason) => new(null, reason);
}

/// <summary>
/// Verifies user contexts on the receiving side. Each hop, from the outermost inwards: the <c>x5c</c> leaf must be a
/// valid X.509-SVID of a trusted trust domain (the same validation as a peer certificate), the JWS must verify with its
/// key (IdentityModel), <c>typ</c>, <c>iss</c> = the signer's SPIFFE ID, <c>aud</c> = the expected receiver,
/// <c>exp</c>/<c>nbf</c>, and <c>exp − iat</c> within <see cref="UserContextTrustOptions.MaxLifetime"/>. The outermost
/// context must be signed by the caller presenting it (a context cannot be replayed by another workload) and addressed
/// to this service; a wrapped context must be addressed to the workload that wrapped it. The innermost signer must be
/// a trusted gateway, every other signer a trusted forwarder. User claims come from the gateway's context only.
/// A verified context is remembered by its SHA-256 until it expires, among at most <see cref="DefaultVerifiedCapacity"/>
/// (<see cref="BoundedCache{TKey, TValue}"/>: expired and unused contexts go first when it is full).
/// </summary>
internal sealed class UserContextValidator
{
    internal const int DefaultVerifiedCapacity = 10_000;
    private const int MaxCertificatesPerHop = 5;
    private static readonly string[] Algorithms = [SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSha256];
    private static readonly HashSet<string> ProtocolClaims = new(StringComparer.Ordinal) { "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "act", UserContextMinter.WrappedClaim };

    private readonly PeerCertificateValidator _validator;
    private readonly TimeProvider _timeProvider;
    private readonly UserContextTrustOptions _options;
    private readonly SpiffeIdAuthorizer? _gateways;
    private readonly SpiffeIdAuthorizer? _forwarders;
    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = 64 * 1024 };
    private readonly BoundedCache<Sha256Key, EndUserIdentity> _verified;

    public UserContextValidator(PeerCertificateValidator validator, TimeProvider timeProvider, IOptions<SecureCommsOptions> options)
        : this(validator, timeProvider, options, DefaultVerifiedCapacity)
    {
    }

    /// <param name="validator">Validates each hop's <c>x5c</c> leaf.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="options">The user-context trust settings.</param>
    /// <param name="verifiedCapacity">How many verified contexts are remembered (by SHA-256) until they expire.</param>
    internal UserContextValidator(PeerCertificateValidator validator, TimeProvider timeProvider, IOptions<SecureCommsOptions> options, int verifiedCapacity)
    {
        _verified = new BoundedCache<Sha256Key, EndUserIdentity>(verifiedCapacity);
        _validator = validator;
        _timeProvider = timeProvider;
        _options = options.Value.UserContext;
        _gateways = Compile(_options.TrustedGateways);
        _forwarders = Compile(_options.TrustedForwarders);
    }

    /// <summary>The verified contexts remembered now (for tests and the soak run).</summary>
    internal int VerifiedCount => _verified.Count;

    /// <summary>Verifies the header value presented by <paramref name="caller"/> to this service, <paramref name="self"/>.</summary>
    public async ValueTask<UserContextVerdict> ValidateAsync(string? header, SpiffeId caller, SpiffeId self)
    {
        if (_gateways is null)
        {
            return UserContextVerdict.Fail(SecureCommsTelemetry.Reasons.UserContextNotAccepted);
        }

        if (string.IsNullOrEmpty(header) || header.Length > _options.MaxHeaderLength)
        {
            return UserContextVerdict.Fail(SecureCommsTelemetry.Reasons.UserContextMalformed);
        }

        DateTimeOffset now = _timeProvider.GetUtcNow();
        Sha256Key digest = Sha256Key.Of(header);
        if (_verified.TryGet(digest, now, out EndUserIdentity? known))
        {
            // The context names its signer and audience; both were checked against this caller and this service.
            return known.Actors[^1] == caller ? new UserContextVerdict(known, null) : UserContextVerdict.Fail(SecureCommsTelemetry.Reasons.UserContextSignerIsNotCaller);
        }

        var signers = new List<SpiffeId>();
        string? token = header;
        string audience = self.ToString();
        JsonWebToken? origin = null;
        DateTimeOffset expires = DateTimeOffset.MaxValue;
        string? subject = null;
        while (true)
        {
            if (signers.Count == _options.MaxChainLength)
            {
                return UserContextVerdict.Fail(SecureCommsTelemetry.Reasons.UserContextChainTooLong);
            }

            (JsonWebToken? hop, SpiffeId signer, string? failure) = await ValidateHopAsync(token!, audience, now).ConfigureAwait(false);
            if (failure is not null)
            {
                return UserContextVerdict.Fail(failure);
            }

            if (signers.Count == 0 && signer != caller)
            {
                return UserContextVerdict.Fail(SecureCommsTelemetry.Reasons.UserContextSignerIsNotCaller);
            }

            if (subject is not null && !string.Equals(subject, hop!.Subject, StringComparison.Ordinal))
            {
                return UserContextVerdict.Fail(SecureCommsTelemetry.Reasons.UserContextSubjectMismatch);
            }

            subject = hop!.Subject;
            signers.Add(signer);
            expires = hop.ValidTo < expires.UtcDateTime ? new DateTimeOffset(hop.ValidTo, TimeSpan.Zero) : expires;
            if (!hop.TryGetPayloadValue(UserContextMinter.WrappedClaim, out string? wrapped) || wrapped is null)
            {
                origin = hop;
                break;
            }

            if (!_forwarders?.IsAuthorized(signer) ?? true)
            {
                return UserContextVerdict.Fail(SecureCommsTelemetry.Reasons.UserContextUntrustedSigner);
            }

            token = wrapped;
            audience = signer.ToString(); // the wrapped context was addressed to the workload that wrapped it
        }

        if (!_gateways.IsAuthorized(signers[^1]))
        {
            return UserContextVerdict.Fail(SecureCommsTelemetry.Reasons.UserContextUntrustedSigner);
        }

        if (string.IsNullOrEmpty(subject))
        {
            return UserContextVerdict.Fail(SecureCommsTelemetry.Reasons.UserContextMalformed);
        }

        signers.Reverse(); // gateway first, the caller last
        var user = new EndUserIdentity(subject, UserClaims(origin, subject, signers), signers, header, expires);
        _verified.Set(digest, user, expires + _options.ClockSkew, now); // held as long as the context itself is accepted
        return new UserContextVerdict(user, null);
    }

    private async ValueTask<(JsonWebToken? Token, SpiffeId Signer, string? Failure)> ValidateHopAsync(string token, string audience, DateTimeOffset now)
    {
        JsonWebToken jwt;
        X509Certificate2Collection chain;
        try
        {
            jwt = _handler.ReadJsonWebToken(token);
            if (!jwt.TryGetHeaderValue("x5c", out string[]? x5c) || x5c is null || x5c.Length is 0 or > MaxCertificatesPerHop)
            {
                return (null, default, SecureCommsTelemetry.Reasons.UserContextMalformed);
            }

            chain = [];
            foreach (string der in x5c)
            {
                chain.Add(X509CertificateLoader.LoadCertificate(Convert.FromBase64String(der)));
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or SecurityTokenException or CryptographicException or JsonException)
        {
            return (null, default, SecureCommsTelemetry.Reasons.UserContextMalformed);
        }

        using (chain.Count > 0 ? new ChainDisposer(chain) : null)
        {
            X509Certificate2 leaf = chain[0];
            X509Certificate2Collection intermediates = [];
            for (int i = 1; i < chain.Count; i++)
            {
                intermediates.Add(chain[i]);
            }

            SvidValidationResult svid = _validator.Validate(leaf, intermediates, PeerSide.Client);
            if (!svid.IsValid)
            {
                return (null, default, SecureCommsTelemetry.Reasons.UserContextUntrustedCertificate);
            }

            using AsymmetricAlgorithm? publicKey = (AsymmetricAlgorithm?)leaf.GetECDsaPublicKey() ?? leaf.GetRSAPublicKey();
            if (publicKey is null)
            {
                return (null, default, SecureCommsTelemetry.Reasons.UserContextUntrustedCertificate);
            }

            var noCache = new CryptoProviderFactory { CacheSignatureProviders = false };
            SecurityKey key = publicKey is ECDsa ecdsa
                ? new ECDsaSecurityKey(ecdsa) { CryptoProviderFactory = noCache }
                : new RsaSecurityKey((RSA)publicKey) { CryptoProviderFactory = noCache };
            TokenValidationResult result = await _handler.ValidateTokenAsync(jwt, new TokenValidationParameters
            {
                IssuerSigningKey = key,
                ValidAlgorithms = Algorithms,
                ValidTypes = [SecureCommsUserContext.TokenType],
                ValidIssuer = svid.SpiffeId.ToString(),
                ValidAudience = audience,
                RequireExpirationTime = true,
                RequireSignedTokens = true,
                ClockSkew = _options.ClockSkew,
                LifetimeValidator = (notBefore, expires, _, parameters) => expires is { } exp && exp.Add(parameters.ClockSkew) > now.UtcDateTime && (notBefore is not { } nbf || nbf - parameters.ClockSkew <= now.UtcDateTime),
                NameClaimType = "name",
                RoleClaimType = "role",
            }).ConfigureAwait(false);
            if (!result.IsValid)
            {
                return (null, default, result.Exception switch
                {
                    SecurityTokenInvalidAudienceException => SecureCommsTelemetry.Reasons.UserContextWrongAudience,
                    SecurityTokenInvalidTypeException => SecureCommsTelemetry.Reasons.UserContextMalformed,
                    SecurityTokenInvalidLifetimeException or SecurityTokenExpiredException or SecurityTokenNotYetValidException or SecurityTokenNoExpirationException => SecureCommsTelemetry.Reasons.UserContextExpired,
                    _ => SecureCommsTelemetry.Reasons.UserContextBadSignature,
                });
            }

            if (!jwt.TryGetPayloadValue("iat", out long issuedAt) || jwt.ValidTo - DateTimeOffset.FromUnixTimeSeconds(issuedAt).UtcDateTime > _options.MaxLifetime)
            {
                return (null, default, SecureCommsTelemetry.Reasons.UserContextLifetimeTooLong);
            }

            return (jwt, svid.SpiffeId, null);
        }
    }

    /// <summary>The gateway's user claims (not the protocol claims), plus <c>sub</c> and the verified actor chain as <c>act</c>.</summary>
    private static List<Claim> UserClaims(JsonWebToken origin, string subject, List<SpiffeId> actors)
    {
        const string Issuer = "SecureComms.UserContext";
        var claims = new List<Claim> { new("sub", subject, ClaimValueTypes.String, Issuer) };
        foreach (Claim claim in origin.Claims)
        {
            if (!ProtocolClaims.Contains(claim.Type))
            {
                claims.Add(new Claim(claim.Type, claim.Value, claim.ValueType, Issuer));
            }
        }

        var act = new StringBuilder();
        for (int i = actors.Count - 1; i >= 0; i--)
        {
            act.Append("{\"sub\":").Append(JsonSerializer.Serialize(actors[i].ToString()));
            act.Append(i > 0 ? ",\"act\":" : string.Empty);
        }

        act.Append('}', actors.Count);
        claims.Add(new Claim("act", act.ToString(), "JSON", Issuer));
        return claims;
    }

    private static SpiffeIdAuthorizer? Compile(IList<string> patterns)
    {
        var authorizers = new List<SpiffeIdAuthorizer>();
        foreach (string pattern in patterns)
        {
            if (SpiffeIdAuthorizer.TryParse(pattern, out SpiffeIdAuthorizer? authorizer, out _))
            {
                authorizers.Add(authorizer);
            }
        }

        return authorizers.Count == 0 ? null : SpiffeIdAuthorizer.AnyOf([.. authorizers]);
    }

    private sealed class ChainDisposer(X509Certificate2Collection chain) : IDisposable
    {
        public void Dispose()
        {
            foreach (X509Certificate2 certificate in chain)
            {
                certificate.Dispose();
            }
        }
    }
}
