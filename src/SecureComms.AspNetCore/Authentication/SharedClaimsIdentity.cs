using System.Security.Claims;

namespace SecureComms;

/// <summary>
/// A per-request identity over an array of claims shared by every request that presents the same caller or token, so
/// that a request copies nothing: the claims are copied into this identity only when someone adds or removes one
/// (claims transformation), and then only for this request. Shared claims have no <see cref="Claim.Subject"/>.
/// </summary>
internal class SharedClaimsIdentity : ClaimsIdentity
{
    private readonly Claim[] _shared;
    private bool _copied;

    protected SharedClaimsIdentity(Claim[] shared, string authenticationType, string nameType, string roleType)
        : base(authenticationType, nameType, roleType)
    {
        _shared = shared;
    }

    /// <summary>A copy for <see cref="ClaimsIdentity.Clone"/>: shares what <paramref name="other"/> shares, copies what it owns.</summary>
    protected SharedClaimsIdentity(SharedClaimsIdentity other)
        : base(other.AuthenticationType, other.NameClaimType, other.RoleClaimType)
    {
        _shared = other._shared;
        Label = other.Label;
        BootstrapContext = other.BootstrapContext;
        Actor = other.Actor?.Clone();
        if (other._copied)
        {
            _copied = true;
            base.AddClaims(other.Claims);
        }
    }

    public override IEnumerable<Claim> Claims => _copied ? base.Claims : _shared;

    public override Claim? FindFirst(string type)
    {
        if (_copied)
        {
            return base.FindFirst(type);
        }

        foreach (Claim claim in _shared)
        {
            if (string.Equals(claim.Type, type, StringComparison.OrdinalIgnoreCase))
            {
                return claim;
            }
        }

        return null;
    }

    public override bool HasClaim(string type, string value)
    {
        if (_copied)
        {
            return base.HasClaim(type, value);
        }

        foreach (Claim claim in _shared)
        {
            if (string.Equals(claim.Type, type, StringComparison.OrdinalIgnoreCase) && string.Equals(claim.Value, value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public override void AddClaim(Claim claim)
    {
        CopyShared();
        base.AddClaim(claim);
    }

    public override void AddClaims(IEnumerable<Claim?> claims)
    {
        CopyShared();
        base.AddClaims(claims);
    }

    public override void RemoveClaim(Claim? claim)
    {
        CopyShared();
        base.RemoveClaim(claim);
    }

    public override bool TryRemoveClaim(Claim? claim)
    {
        CopyShared();
        return base.TryRemoveClaim(claim);
    }

    protected override void WriteTo(BinaryWriter writer, byte[]? userData)
    {
        CopyShared();
        base.WriteTo(writer, userData);
    }

    /// <summary>Makes this identity own copies of the shared claims (each bound to this identity), once.</summary>
    protected void CopyShared()
    {
        if (!_copied)
        {
            _copied = true;
            base.AddClaims(_shared); // ClaimsIdentity clones claims whose subject is not this identity
        }
    }

    /// <summary>A claim for a shared array: no subject, since it belongs to every request's identity.</summary>
    internal static Claim SharedClaim(string type, string value, string valueType, string issuer) =>
        new(type, value, valueType, issuer, issuer, subject: null);
}
