using System.Security.Claims;
using System.Text.Json;

namespace SecureComms.DevCert;

/// <summary>
/// The principal a SecureComms service's authentication produces for a request, built from a description instead of a
/// handshake and tokens, so that <see cref="CentralPolicy.Evaluate"/> decides on it exactly as in the service: the
/// caller's workload identity first (<c>CallerPrincipal</c> over <c>WorkloadIdentity</c>), then, when scopes or claims
/// are given, the access token's identity (claims named as in the JWT, JwtBearer's inbound mapping off; the scopes as one
/// space-separated <c>scope</c> claim, RFC 9068 §2.2.3), then, when an end user is given, the verified user context's
/// <see cref="EndUserIdentity"/> (its <c>sub</c>, the user claims and the <c>act</c> chain with the caller as gateway).
/// </summary>
internal static class PolicyPrincipal
{
    private const string TokenAuthenticationType = "SecureComms.AccessToken";
    private const string UserContextIssuer = "SecureComms.UserContext";

    /// <summary>
    /// Builds the principal of <paramref name="caller"/> presenting a token with <paramref name="scopes"/> and
    /// <paramref name="claims"/> (a claim type given twice is a JSON array in the token: two claims), for the end user
    /// <paramref name="user"/> with <paramref name="userClaims"/>. The user is there when <paramref name="user"/> or any
    /// user claim is given; its subject is <paramref name="user"/>, else the <c>sub</c> user claim, else <c>user</c>.
    /// </summary>
    public static ClaimsPrincipal Create(
        SpiffeId caller,
        IReadOnlyList<string> scopes,
        IReadOnlyList<KeyValuePair<string, string>> claims,
        string? user,
        IReadOnlyList<KeyValuePair<string, string>> userClaims)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(claims);
        ArgumentNullException.ThrowIfNull(userClaims);
        if (caller.IsEmpty)
        {
            throw new ArgumentException("A caller SPIFFE ID is required.", nameof(caller));
        }

        var principal = new CallerPrincipal(new WorkloadIdentity(caller));
        if (scopes.Count > 0 || claims.Count > 0)
        {
            var token = new List<Claim>();
            if (scopes.Count > 0)
            {
                token.Add(new Claim("scope", string.Join(' ', scopes)));
            }

            foreach ((string type, string value) in claims)
            {
                token.Add(new Claim(type, value));
            }

            principal.AddIdentity(new ClaimsIdentity(token, TokenAuthenticationType, "sub", ClaimTypes.Role));
        }

        if (user is not null || userClaims.Count > 0)
        {
            string subject = user ?? FirstValue(userClaims, "sub") ?? "user";
            var identity = new List<Claim> { new("sub", subject, ClaimValueTypes.String, UserContextIssuer) };
            foreach ((string type, string value) in userClaims)
            {
                if (type != "sub")
                {
                    identity.Add(new Claim(type, value, ClaimValueTypes.String, UserContextIssuer));
                }
            }

            identity.Add(new Claim("act", "{\"sub\":" + JsonSerializer.Serialize(caller.ToString()) + "}", "JSON", UserContextIssuer));
            principal.AddIdentity(new EndUserIdentity(subject, identity, [caller], token: string.Empty, DateTimeOffset.MaxValue));
        }

        return principal;
    }

    private static string? FirstValue(IReadOnlyList<KeyValuePair<string, string>> claims, string type)
    {
        foreach ((string key, string value) in claims)
        {
            if (key == type)
            {
                return value;
            }
        }

        return null;
    }
}
