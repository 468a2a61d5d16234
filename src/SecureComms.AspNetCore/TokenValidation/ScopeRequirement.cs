using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace SecureComms;

/// <summary>Satisfied when the caller's access token grants every one of <see cref="Scopes"/>.</summary>
internal sealed class ScopeRequirement(string[] scopes) : IAuthorizationRequirement
{
    internal const string MissingScopesItem = "SecureComms.RequiredScopes";

    public string[] Scopes { get; } = scopes;

    public override string ToString() => $"scopes {string.Join(' ', Scopes)}";

    /// <summary><see langword="null"/> when <paramref name="user"/>'s token grants every scope, else the denial reason.</summary>
    internal string? Decide(ClaimsPrincipal user, object? resource)
    {
        foreach (string scope in Scopes)
        {
            if (!HasScope(user, scope))
            {
                if (resource is HttpContext http)
                {
                    http.Items[MissingScopesItem] = string.Join(' ', Scopes);
                }

                return DenialReasons.InsufficientScope;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="user"/> has <paramref name="scope"/> in a <c>scope</c> (space-separated, RFC 9068 §2.2.3) or <c>scp</c> claim.</summary>
    internal static bool HasScope(ClaimsPrincipal user, string scope)
    {
        foreach (ClaimsIdentity identity in user.Identities)
        {
            foreach (Claim claim in identity.Claims)
            {
                if (claim.Type is not ("scope" or "scp"))
                {
                    continue;
                }

                foreach (Range range in claim.Value.AsSpan().Split(' '))
                {
                    if (claim.Value.AsSpan()[range].SequenceEqual(scope))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }
}
