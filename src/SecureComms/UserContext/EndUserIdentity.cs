using System.Net.Http;
using System.Security.Claims;

namespace SecureComms;

/// <summary>
/// The end user a call was made for, from a verified user context: the user's <c>sub</c> and the claims the gateway
/// chose to carry, and the workloads the request passed through (<see cref="Actors"/>). Added by SecureComms to the
/// request's principal next to the calling workload's identity; its claims never come from a plain header.
/// </summary>
public sealed class EndUserIdentity : ClaimsIdentity
{
    /// <summary>The authentication type of an end-user identity: <c>SecureComms.UserContext</c>.</summary>
    public const string AuthenticationTypeName = "SecureComms.UserContext";

    internal EndUserIdentity(string subject, IEnumerable<Claim> claims, IReadOnlyList<SpiffeId> actors, string token, DateTimeOffset expiresAt)
        : base(claims, AuthenticationTypeName, "name", "role")
    {
        Subject = subject;
        Actors = actors;
        Token = token;
        ExpiresAt = expiresAt;
    }

    private EndUserIdentity(EndUserIdentity other)
        : base(other)
    {
        Subject = other.Subject;
        Actors = other.Actors;
        Token = other.Token;
        ExpiresAt = other.ExpiresAt;
    }

    /// <summary>The user's subject (<c>sub</c>) as the gateway authenticated it.</summary>
    public string Subject { get; }

    /// <summary>
    /// Who acted for the user, in order: the gateway that minted the context first, then every workload that forwarded
    /// it; the last one is the workload calling this service.
    /// </summary>
    public IReadOnlyList<SpiffeId> Actors { get; }

    /// <summary>When the context stops being valid: the earliest <c>exp</c> in the chain.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The verified token, kept for forwarding (<see cref="UserContextMode.Forward"/>); never logged.</summary>
    internal string Token { get; }

    /// <inheritdoc />
    public override ClaimsIdentity Clone() => new EndUserIdentity(this);
}

/// <summary>Names and request options of SecureComms' end-user context.</summary>
public static class SecureCommsUserContext
{
    /// <summary>The request header that carries a user context: <c>SecureComms-User-Context</c>.</summary>
    public const string HeaderName = "SecureComms-User-Context";

    /// <summary>The JWT <c>typ</c> of a user context: <c>securecomms-uc+jwt</c>.</summary>
    public const string TokenType = "securecomms-uc+jwt";

    /// <summary>
    /// The <c>WWW-Authenticate: Bearer</c> parameter with which a SecureComms service says that the user context, not the
    /// access token, was refused: <c>securecomms_refused="user_context"</c>, next to <c>error="invalid_token"</c> and an
    /// <c>error_description</c>. An extension auth-param (RFC 6750 §3: other auth-param attributes may be used). A
    /// SecureComms client does not renew its access token and replay the request for such a 401: a new token would be
    /// refused the same way.
    /// </summary>
    public const string RefusedChallengeParameter = "securecomms_refused=\"user_context\"";

    /// <summary>
    /// The end user to mint a context for on this request (a worker or a test has no ambient HTTP request); takes
    /// precedence over the user of the request in progress. Used by clients in <see cref="UserContextMode.Mint"/>.
    /// </summary>
    public static readonly HttpRequestOptionsKey<ClaimsPrincipal> User = new("SecureComms.UserContext.User");

    /// <summary>The verified end user of a principal SecureComms authenticated, or null when the call carried none.</summary>
    public static EndUserIdentity? GetEndUser(this ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        foreach (ClaimsIdentity identity in principal.Identities)
        {
            if (identity is EndUserIdentity user)
            {
                return user;
            }
        }

        return null;
    }
}
