using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace SecureComms;

/// <summary>Reads the calling workload's identity from a principal or request.</summary>
public static class SecureCommsPrincipalExtensions
{
    /// <summary>The caller's SPIFFE ID, or <c>default</c> (check <see cref="SpiffeId.IsEmpty"/>) when there is none.</summary>
    public static SpiffeId GetSpiffeId(this ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (principal is CallerPrincipal caller)
        {
            return caller.Workload.SpiffeId; // as SecureComms authenticated it: no claim lookup, no parsing
        }

        foreach (ClaimsIdentity identity in principal.Identities)
        {
            if (identity is WorkloadIdentity workload)
            {
                return workload.SpiffeId; // built by SecureComms: already parsed
            }

            if (identity.IsAuthenticated
                && string.Equals(identity.AuthenticationType, SecureCommsDefaults.AuthenticationScheme, StringComparison.Ordinal)
                && identity.FindFirst(SecureCommsClaimTypes.SpiffeId) is { } claim
                && SpiffeId.TryParse(claim.Value, out SpiffeId id))
            {
                return id;
            }
        }

        return default;
    }

    /// <summary>The calling workload's SPIFFE ID for this request, or <c>default</c> when there is none.</summary>
    public static SpiffeId GetCallerSpiffeId(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.User.GetSpiffeId();
    }
}
