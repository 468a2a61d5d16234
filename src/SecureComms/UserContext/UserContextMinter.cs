using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms;

/// <summary>
/// Mints user-context tokens: compact JWS (IdentityModel does the signing) with <c>typ</c>
/// <see cref="SecureCommsUserContext.TokenType"/>, signed with the workload's current SVID key, the SVID chain in
/// <c>x5c</c>, <c>iss</c> = the workload's SPIFFE ID, <c>sub</c>, <c>aud</c> = the receiver's SPIFFE ID, <c>iat</c>,
/// <c>nbf</c>, <c>exp</c>, <c>jti</c> and <c>act</c> (RFC 8693 §4.1). A forwarded context also carries the context it
/// wraps in <c>uctx</c>, so a receiver verifies every hop back to the gateway's own signature. A minted token is reused
/// for the same user, audience and SVID until half its lifetime has passed (signing costs tens of microseconds).
/// </summary>
internal sealed class UserContextMinter
{
    internal const string WrappedClaim = "uctx";
    private const int MaxCachedTokens = 10_000;

    // ASP.NET Core's long claim-type URIs for the JWT names a gateway is likely to select.
    private static readonly Dictionary<string, string> LongClaimTypes = new(StringComparer.Ordinal)
    {
        ["sub"] = ClaimTypes.NameIdentifier,
        ["name"] = ClaimTypes.Name,
        ["email"] = ClaimTypes.Email,
        ["role"] = ClaimTypes.Role,
        ["given_name"] = ClaimTypes.GivenName,
        ["family_name"] = ClaimTypes.Surname,
    };

    private readonly ICertificateSource _certificates;
    private readonly TimeProvider _timeProvider;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly ConcurrentDictionary<string, MintedToken> _minted = new(StringComparer.Ordinal);

    public UserContextMinter(ICertificateSource certificates, TimeProvider timeProvider)
    {
        _certificates = certificates;
        _timeProvider = timeProvider;
    }

    /// <summary>A context for the user the edge authenticated, or null when <paramref name="user"/> has no authenticated user with a subject.</summary>
    public string? MintForUser(ClaimsPrincipal user, string audience, TimeSpan lifetime, IReadOnlyList<string> claimTypes)
    {
        if (FindEdgeIdentity(user) is not { } identity || Subject(identity) is not { } subject)
        {
            return null;
        }

        var claims = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (string type in claimTypes)
        {
            string[] values = ValuesOf(identity, type);
            if (values.Length > 0)
            {
                claims[type] = values.Length == 1 ? values[0] : values;
            }
        }

        WorkloadCertificate certificate = _certificates.Current;
        string key = CacheKey(certificate, audience, subject, claims);
        return GetOrMint(key, certificate, subject, audience, lifetime, claims, wrapped: null, wrappedExpiry: null, actors: []);
    }

    /// <summary>A context that wraps the verified <paramref name="received"/> one, naming this workload as the next actor.</summary>
    public string? Forward(EndUserIdentity received, string audience, TimeSpan lifetime)
    {
        WorkloadCertificate certificate = _certificates.Current;
        if (received.ExpiresAt <= _timeProvider.GetUtcNow())
        {
            return null;
        }

        Sha256Key wrapped = Sha256Key.Of(received.Token); // the received context can be kilobytes: key on its digest
        string key = CacheKey(certificate, audience, $"{wrapped.A:x16}{wrapped.B:x16}{wrapped.C:x16}{wrapped.D:x16}", null);
        return GetOrMint(key, certificate, received.Subject, audience, lifetime, [], received.Token, received.ExpiresAt, received.Actors);
    }

    private string GetOrMint(
        string key,
        WorkloadCertificate certificate,
        string subject,
        string audience,
        TimeSpan lifetime,
        Dictionary<string, object> claims,
        string? wrapped,
        DateTimeOffset? wrappedExpiry,
        IReadOnlyList<SpiffeId> actors)
    {
        DateTimeOffset now = _timeProvider.GetUtcNow();
        if (_minted.TryGetValue(key, out MintedToken? cached) && now < cached.ReuseUntil)
        {
            return cached.Token;
        }

        DateTimeOffset expires = now + lifetime;
        if (wrappedExpiry is { } limit && limit < expires)
        {
            expires = limit; // a forwarded context never outlives the one it wraps
        }

        expires = new DateTimeOffset(expires.Ticks - (expires.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero); // NumericDate is whole seconds
        string token = Sign(certificate, subject, audience, now, expires, claims, wrapped, actors);
        if (_minted.Count >= MaxCachedTokens)
        {
            _minted.Clear(); // many distinct users: start over rather than grow without bound
        }

        _minted[key] = new MintedToken(token, now + ((expires - now) / 2));
        return token;
    }

    private string Sign(
        WorkloadCertificate certificate,
        string subject,
        string audience,
        DateTimeOffset now,
        DateTimeOffset expires,
        Dictionary<string, object> claims,
        string? wrapped,
        IReadOnlyList<SpiffeId> actors)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.Certificate.GetECDsaPrivateKey()
            ?? certificate.Certificate.GetRSAPrivateKey()
            ?? throw new InvalidOperationException("The workload certificate's key is neither ECDSA nor RSA; it cannot sign a user context.");

        // The key object is disposed after signing, so IdentityModel must not cache a signature provider for it.
        var noCache = new CryptoProviderFactory { CacheSignatureProviders = false };
        SigningCredentials credentials = key switch
        {
            ECDsa ecdsa => new SigningCredentials(new ECDsaSecurityKey(ecdsa) { CryptoProviderFactory = noCache }, ecdsa.KeySize > 256 ? SecurityAlgorithms.EcdsaSha384 : SecurityAlgorithms.EcdsaSha256),
            RSA rsa => new SigningCredentials(new RsaSecurityKey(rsa) { CryptoProviderFactory = noCache }, SecurityAlgorithms.RsaSsaPssSha256),
            _ => throw new InvalidOperationException("unsupported key type."),
        };

        var payload = new Dictionary<string, object>(claims, StringComparer.Ordinal)
        {
            ["sub"] = subject,
            ["jti"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
            ["act"] = Actor(certificate.SpiffeId, actors, actors.Count - 1),
        };
        if (wrapped is not null)
        {
            payload[WrappedClaim] = wrapped;
        }

        string[] chain = new string[1 + certificate.Intermediates.Count];
        chain[0] = Convert.ToBase64String(certificate.Certificate.RawData);
        for (int i = 0; i < certificate.Intermediates.Count; i++)
        {
            chain[i + 1] = Convert.ToBase64String(certificate.Intermediates[i].RawData);
        }

        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = SecureCommsUserContext.TokenType,
            Issuer = certificate.SpiffeId.ToString(),
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = payload,
            SigningCredentials = credentials,
            AdditionalHeaderClaims = new Dictionary<string, object> { ["x5c"] = chain },
        });
    }

    /// <summary>RFC 8693 §4.1: the current actor, with the prior actors nested in it, most recent first.</summary>
    private static Dictionary<string, object> Actor(SpiffeId current, IReadOnlyList<SpiffeId> prior, int index)
    {
        var actor = new Dictionary<string, object>(StringComparer.Ordinal) { ["sub"] = current.ToString() };
        if (index >= 0)
        {
            actor["act"] = Actor(prior[index], prior, index - 1);
        }

        return actor;
    }

    /// <summary>The identity the edge authenticated: the first authenticated one that SecureComms did not build.</summary>
    internal static ClaimsIdentity? FindEdgeIdentity(ClaimsPrincipal user)
    {
        foreach (ClaimsIdentity identity in user.Identities)
        {
            if (identity.IsAuthenticated
                && identity is not EndUserIdentity
                && !(identity.AuthenticationType?.StartsWith("SecureComms", StringComparison.Ordinal) ?? false))
            {
                return identity;
            }
        }

        return null;
    }

    private static string? Subject(ClaimsIdentity identity)
    {
        string[] values = ValuesOf(identity, "sub");
        return values.Length == 1 && values[0].Length > 0 ? values[0] : null;
    }

    private static string[] ValuesOf(ClaimsIdentity identity, string type)
    {
        var values = new List<string>();
        string? longType = LongClaimTypes.GetValueOrDefault(type);
        foreach (Claim claim in identity.Claims)
        {
            if ((claim.Type == type || claim.Type == longType) && !values.Contains(claim.Value))
            {
                values.Add(claim.Value);
            }
        }

        return [.. values];
    }

    private static string CacheKey(WorkloadCertificate certificate, string audience, string subject, Dictionary<string, object>? claims)
    {
        var text = new StringBuilder(certificate.Sha256Thumbprint, 128).Append('\n').Append(audience).Append('\n').Append(subject);
        if (claims is not null)
        {
            foreach ((string type, object value) in claims)
            {
                text.Append('\n').Append(type).Append('=').Append(value is string[] many ? string.Join('\u001f', many) : value);
            }
        }

        return text.ToString();
    }

    private sealed record MintedToken(string Token, DateTimeOffset ReuseUntil);
}
