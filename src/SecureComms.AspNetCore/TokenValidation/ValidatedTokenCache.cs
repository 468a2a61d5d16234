using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace SecureComms;

/// <summary>
/// Access tokens that passed full validation (signature, <c>iss</c>, <c>aud</c>, <c>typ</c>, lifetime), remembered
/// until their <c>exp</c> so that later requests with the same token skip JwtBearer entirely: one SHA-256 of the
/// token, one lookup, no copy of the claims. Keyed by the SHA-256 of the token, never the token itself. The
/// certificate binding is not cached: every request compares the token's <c>cnf</c> with its own connection.
/// </summary>
/// <remarks>
/// Kestrel hands every request on a connection the same string object for a known header whose bytes did not change
/// (unless <c>KestrelServerOptions.DisableStringReuse</c> is set), so the <c>Authorization</c> string object itself is
/// remembered too, weakly and by reference: the same object is the same token, and the steady state of a connection
/// skips even the SHA-256 (about 1 µs for a typical token). An entry goes when Kestrel drops the string or the
/// token expires.
/// </remarks>
internal sealed class ValidatedTokenCache(IOptions<SecureCommsTokenValidationOptions> options)
{
    private readonly BoundedCache<Sha256Key, ValidatedAccessToken> _entries = new(options.Value.ValidatedTokenCacheSize);
    private readonly ConditionalWeakTable<string, ValidatedAccessToken> _byHeader = new();

    public bool Enabled => _entries.Enabled;

    internal int Count => _entries.Count;

    internal int Capacity => _entries.Capacity;

    /// <summary>How many header string objects are remembered (for tests and the soak run: the table lives as long as Kestrel's strings).</summary>
    internal int RememberedHeaderCount => _byHeader.Count();

    /// <summary>How many distinct string objects with this text are remembered (for tests: Kestrel reuses one per connection).</summary>
    internal int RememberedHeaderObjects(string headerText) => _byHeader.Count(entry => string.Equals(entry.Key, headerText, StringComparison.Ordinal));

    public bool TryGet(in Sha256Key digest, DateTimeOffset now, [NotNullWhen(true)] out ValidatedAccessToken? token) =>
        _entries.TryGet(digest, now, out token);

    /// <summary>The validated token of this very <c>Authorization</c> string object (compared by reference, never by content).</summary>
    public bool TryGetByHeader(string header, DateTimeOffset now, [NotNullWhen(true)] out ValidatedAccessToken? token)
    {
        if (_byHeader.TryGetValue(header, out token))
        {
            if (now < token.ExpiresAt)
            {
                return true;
            }

            _byHeader.Remove(header);
        }

        token = null;
        return false;
    }

    /// <summary>Remembers the <c>Authorization</c> string object a validated token arrived in, for as long as it lives.</summary>
    public void RememberHeader(string header, ValidatedAccessToken token)
    {
        if (Enabled)
        {
            _byHeader.AddOrUpdate(header, token);
        }
    }

    /// <summary>
    /// Remembers a validated token until its <c>exp</c>. When the cache is full, expired tokens and tokens not presented
    /// again since the last sweep go first (<see cref="BoundedCache{TKey, TValue}"/>): a flood of distinct tokens cannot
    /// grow it, nor push out the tokens callers keep presenting.
    /// </summary>
    public void Add(in Sha256Key digest, ValidatedAccessToken token, DateTimeOffset now) =>
        _entries.Set(digest, token, token.ExpiresAt, now);
}


/// <summary>What a request needs from a validated access token: its claims (shared), expiry and <c>cnf</c> binding.</summary>
internal sealed class ValidatedAccessToken
{
    private readonly Claim[] _claims;
    private readonly string? _authenticationType;
    private readonly string _nameClaimType;
    private readonly string _roleClaimType;

    private ValidatedAccessToken(Claim[] claims, string? authenticationType, string nameClaimType, string roleClaimType, DateTimeOffset expiresAt, string? boundThumbprint, bool bindingMalformed, SpiffeId? jwtSvidSubject)
    {
        JwtSvidSubject = jwtSvidSubject;
        _claims = claims;
        _authenticationType = authenticationType;
        _nameClaimType = nameClaimType;
        _roleClaimType = roleClaimType;
        ExpiresAt = expiresAt;
        BoundThumbprint = boundThumbprint;
        BindingMalformed = bindingMalformed;
    }

    /// <summary>The token's <c>exp</c>.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The <c>cnf.x5t#S256</c> the token is bound to (RFC 8705 §3.1), or null for an unbound token.</summary>
    public string? BoundThumbprint { get; }

    /// <summary>For a JWT-SVID, the SPIFFE ID its <c>sub</c> names (compared with the caller on every request); null for an access token.</summary>
    public SpiffeId? JwtSvidSubject { get; }

    /// <summary>Whether the token's <c>cnf</c> claim is present but unreadable.</summary>
    public bool BindingMalformed { get; }

    /// <summary>
    /// Captures a token JwtBearer has just validated; null when it has no usable <c>exp</c>. The <c>cnf</c> binding is
    /// read from the token's own payload, where its JSON type is visible (RFC 7800 §3.1: an object, once).
    /// </summary>
    public static ValidatedAccessToken? From(ClaimsIdentity validated, JsonWebToken token, SpiffeId? jwtSvidSubject = null)
    {
        if (validated.FindFirst("exp") is not { } exp
            || !long.TryParse(exp.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return null;
        }

        string? bound = null;
        bool malformed = !Base64Url.IsValid(token.EncodedPayload)
            || !CertificateBinding.TryReadFromPayload(Base64Url.DecodeFromChars(token.EncodedPayload), out bound);
        var claims = new List<Claim>();
        foreach (Claim claim in validated.Claims)
        {
            claims.Add(new Claim(claim.Type, claim.Value, claim.ValueType, claim.Issuer, claim.OriginalIssuer, subject: null));
        }

        return new ValidatedAccessToken([.. claims], validated.AuthenticationType, validated.NameClaimType, validated.RoleClaimType, DateTimeOffset.FromUnixTimeSeconds(seconds), bound, malformed, jwtSvidSubject);
    }

    /// <summary>
    /// An opaque token the authorization server said is active (RFC 7662 §2.2): the answer's members as claims, named as
    /// a JWT access token's are (<c>sub</c> the name, <c>scope</c> space-separated), and its <c>cnf</c> binding.
    /// <paramref name="holdsUntil"/> takes the place of <see cref="ExpiresAt"/>: the earlier of the answer's <c>exp</c>
    /// and the end of <see cref="SecureCommsIntrospectionOptions.MaxCacheDuration"/>, so that no cache keeps the answer
    /// longer (the <c>exp</c> claim itself is among the claims).
    /// </summary>
    public static ValidatedAccessToken FromIntrospection(Claim[] claims, DateTimeOffset holdsUntil, string? boundThumbprint, bool bindingMalformed) =>
        new(claims, TokenIntrospector.AuthenticationType, "sub", ClaimsIdentity.DefaultRoleClaimType, holdsUntil, boundThumbprint, bindingMalformed, jwtSvidSubject: null);

    /// <summary>This request's identity for the token, over the shared claims.</summary>
    public ClaimsIdentity CreateIdentity() => new AccessTokenIdentity(_claims, _authenticationType ?? AccessTokenJwtBearerSetup.Scheme, _nameClaimType, _roleClaimType);

    private sealed class AccessTokenIdentity : SharedClaimsIdentity
    {
        public AccessTokenIdentity(Claim[] claims, string authenticationType, string nameType, string roleType)
            : base(claims, authenticationType, nameType, roleType)
        {
        }

        private AccessTokenIdentity(AccessTokenIdentity other)
            : base(other)
        {
        }

        public override ClaimsIdentity Clone() => new AccessTokenIdentity(this);
    }
}
