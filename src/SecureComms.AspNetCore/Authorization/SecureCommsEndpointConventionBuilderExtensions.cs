using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;

namespace SecureComms;

/// <summary>Opens endpoints to named callers: the explicit rules of SecureComms' default-deny authorization.</summary>
public static class SecureCommsEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Allows only callers whose SPIFFE ID matches one of <paramref name="callerPatterns"/>: an exact ID
    /// (<c>spiffe://example.org/orders</c>), a prefix on path boundaries (<c>spiffe://example.org/team/*</c>) or a trust
    /// domain (<c>spiffe://example.org/*</c>). Composes with other ASP.NET Core policies on the endpoint (all must pass).
    /// </summary>
    /// <exception cref="FormatException">A pattern is invalid.</exception>
    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder, params string[] callerPatterns)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(callerPatterns);
        if (callerPatterns.Length == 0)
        {
            throw new ArgumentException("Name at least one caller SPIFFE ID pattern.", nameof(callerPatterns));
        }

        var authorizers = new SpiffeIdAuthorizer[callerPatterns.Length];
        for (int i = 0; i < callerPatterns.Length; i++)
        {
            authorizers[i] = SpiffeIdAuthorizer.Parse(callerPatterns[i]);
        }

        return builder.RequireCaller(authorizers.Length == 1 ? authorizers[0] : SpiffeIdAuthorizer.AnyOf(authorizers));
    }

    /// <summary>
    /// Requires the caller's access token to grant every one of <paramref name="scopes"/>; otherwise 403 with
    /// <c>WWW-Authenticate: Bearer error="insufficient_scope"</c> (RFC 6750 §3.1). Needs <c>SecureComms:TokenValidation</c>.
    /// Composes with <c>RequireCaller</c> and other policies: all must pass.
    /// </summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, params string[] scopes)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(scopes);
        if (scopes.Length == 0 || Array.Exists(scopes, s => string.IsNullOrWhiteSpace(s) || s.Contains(' ', StringComparison.Ordinal)))
        {
            throw new ArgumentException("Name at least one scope; scopes contain no spaces.", nameof(scopes));
        }

        return builder.RequireSecureCommsPolicy(new ScopeRequirement([.. scopes]));
    }

    /// <summary>Allows only callers accepted by <paramref name="authorizer"/>.</summary>
    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder, SpiffeIdAuthorizer authorizer)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authorizer);
        return builder.RequireSecureCommsPolicy(new CallerRequirement(authorizer));
    }

    /// <summary>
    /// Adds a policy with <paramref name="requirement"/> to the endpoint, as <c>RequireAuthorization(policy)</c> does,
    /// naming the SecureComms scheme only when it is not the application's default authenticate scheme (see
    /// <see cref="SecureCommsAuthorizationPolicies"/>).
    /// </summary>
    private static TBuilder RequireSecureCommsPolicy<TBuilder>(this TBuilder builder, IAuthorizationRequirement requirement)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            if (!endpoint.Metadata.Any(m => m is IAuthorizeData))
            {
                endpoint.Metadata.Add(new AuthorizeAttribute());
            }

            endpoint.Metadata.Add(SecureCommsAuthorizationPolicies.Create(endpoint.ApplicationServices, requirement));
        });
        return builder;
    }
}
