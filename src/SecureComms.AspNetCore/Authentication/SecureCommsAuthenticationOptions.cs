using Microsoft.AspNetCore.Authentication;

namespace SecureComms;

/// <summary>Options of the <see cref="SecureCommsDefaults.AuthenticationScheme"/> scheme; nothing to set today.</summary>
public sealed class SecureCommsAuthenticationOptions : AuthenticationSchemeOptions
{
}
