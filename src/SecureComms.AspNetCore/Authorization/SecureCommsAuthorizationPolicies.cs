using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Builds SecureComms' authorization policies. A policy that names an authentication scheme makes ASP.NET Core's
/// policy evaluator authenticate again for every request and copy the principal into a new one; when SecureComms is
/// the application's default authenticate scheme, the authentication middleware has already put its principal in
/// <c>HttpContext.User</c>, so the policies name no scheme. When the application made another scheme its default,
/// they name SecureComms', so they are still evaluated against the caller's workload identity.
/// </summary>
internal static class SecureCommsAuthorizationPolicies
{
    public static AuthorizationPolicy Create(IServiceProvider services, IAuthorizationRequirement requirement) =>
        Create(services.GetService<IOptions<AuthenticationOptions>>()?.Value, requirement);

    public static AuthorizationPolicy Create(AuthenticationOptions? authentication, IAuthorizationRequirement requirement)
    {
        bool isDefault = authentication is not null
            && string.Equals(authentication.DefaultAuthenticateScheme ?? authentication.DefaultScheme, SecureCommsDefaults.AuthenticationScheme, StringComparison.Ordinal);
        AuthorizationPolicyBuilder builder = isDefault ? new AuthorizationPolicyBuilder() : new AuthorizationPolicyBuilder(SecureCommsDefaults.AuthenticationScheme);
        return builder.AddRequirements(requirement).Build();
    }
}
