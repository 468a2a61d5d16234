using System.Security.Claims;

namespace SecureComms;

/// <summary>
/// The inbound request this workload is serving on the current async flow, as its outbound clients need it: the user to
/// mint or forward a user context for (<see cref="UserContextMode"/>), and the bearer token to exchange (RFC 8693,
/// <see cref="TokenGrantType.TokenExchange"/>). The seam between the core package, which has no HTTP server, and the
/// host that serves requests.
/// </summary>
/// <remarks>
/// An extension point for hosts. <c>SecureComms.AspNetCore</c> registers the implementation for ASP.NET Core with its
/// <c>AddSecureComms</c>; a host that serves requests another way may register its own as a singleton. With none
/// registered (a worker), clients see no request being served: they send no user context unless the request sets
/// <see cref="SecureCommsUserContext.User"/>, and a token exchange needs <see cref="SecureCommsTokenExchange.SubjectToken"/>.
/// An implementation answers for the current async flow only, and answers null once that request has ended, so a call
/// still running after it never reads a recycled request.
/// </remarks>
public interface IServedRequestAccessor
{
    /// <summary>The user the request being served was authenticated as, or null when no request is being served.</summary>
    ClaimsPrincipal? User { get; }

    /// <summary>
    /// The access token the request being served carried in <c>Authorization: Bearer</c> (RFC 6750 §2.1), or null when
    /// it carried none or no request is being served.
    /// </summary>
    string? BearerToken { get; }
}
