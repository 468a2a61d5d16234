namespace SecureComms;

/// <summary>
/// The start-up rules of the user-context options: a client's <see cref="ClientUserContextOptions"/> (short-lived,
/// addressed to one receiver, no protocol claims) and the receiving side's <see cref="UserContextTrustOptions"/>
/// (named gateways and forwarders, bounded lifetime, chain, skew and header length).
/// </summary>
internal static class UserContextOptionsValidation
{
    /// <summary>Adds every problem of a client's <paramref name="userContext"/> to <paramref name="errors"/>.</summary>
    /// <param name="key">The options' configuration key, e.g. <c>SecureComms:Clients:billing:UserContext</c>.</param>
    /// <param name="client">The client the options belong to, whose <c>ExpectedServer</c> may supply the audience.</param>
    /// <param name="userContext">The options to check.</param>
    /// <param name="errors">Receives one message per problem, each naming the key to fix.</param>
    internal static void Validate(string key, SecureClientOptions client, ClientUserContextOptions userContext, List<string> errors)
    {
        if (!Enum.IsDefined(userContext.Mode))
        {
            errors.Add($"{key}:Mode must be None, Mint or Forward.");
            return;
        }

        if (userContext.Mode == UserContextMode.None)
        {
            return;
        }

        if (userContext.Lifetime <= TimeSpan.Zero || userContext.Lifetime > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{key}:Lifetime must be more than zero and at most 00:10:00 (it is {userContext.Lifetime}): a user context is short-lived.");
        }

        if (userContext.Audience is { Length: > 0 } audience)
        {
            if (!SpiffeId.TryParse(audience, out SpiffeId id, out string? error) || id.IsTrustDomainId)
            {
                errors.Add($"{key}:Audience '{audience}' must be the receiver's SPIFFE ID: {error ?? "it names a trust domain, not a workload."}");
            }
        }
        else if (UserContextHandler.EffectiveAudience(client) is null)
        {
            errors.Add($"{key}:Audience is required: ExpectedServer is a pattern, and a user context is addressed to one receiver's SPIFFE ID.");
        }

        foreach (string claim in userContext.Claims)
        {
            if (string.IsNullOrWhiteSpace(claim) || claim is "iss" or "aud" or "exp" or "nbf" or "iat" or "jti" or "act" or UserContextMinter.WrappedClaim)
            {
                errors.Add($"{key}:Claims has '{claim}', which is empty or a protocol claim SecureComms sets itself.");
            }
        }
    }

    /// <summary>Adds every problem of the receiving side's <paramref name="trust"/> to <paramref name="errors"/>.</summary>
    /// <param name="key">The options' configuration key, e.g. <c>SecureComms:UserContext</c>.</param>
    /// <param name="trust">The options to check.</param>
    /// <param name="errors">Receives one message per problem, each naming the key to fix.</param>
    internal static void Validate(string key, UserContextTrustOptions trust, List<string> errors)
    {
        foreach ((string list, IList<string> patterns) in new[] { ("TrustedGateways", trust.TrustedGateways), ("TrustedForwarders", trust.TrustedForwarders) })
        {
            for (int i = 0; i < patterns.Count; i++)
            {
                if (patterns[i] == "*")
                {
                    errors.Add($"{key}:{list}:{i} is '*': name the workloads; '*' would let any workload speak for any user.");
                }
                else if (!SpiffeIdAuthorizer.TryParse(patterns[i], out _, out string? error))
                {
                    errors.Add($"{key}:{list}:{i} '{patterns[i]}' is not a SPIFFE ID pattern: {error}");
                }
            }
        }

        if (trust.TrustedForwarders.Count > 0 && trust.TrustedGateways.Count == 0)
        {
            errors.Add($"{key}:TrustedForwarders is set but TrustedGateways is empty: name the gateways that may originate a user context.");
        }

        if (trust.MaxLifetime <= TimeSpan.Zero || trust.MaxLifetime > TimeSpan.FromHours(1))
        {
            errors.Add($"{key}:MaxLifetime must be more than zero and at most 01:00:00 (it is {trust.MaxLifetime}).");
        }

        if (trust.MaxChainLength is < 1 or > 16)
        {
            errors.Add($"{key}:MaxChainLength must be between 1 and 16 (it is {trust.MaxChainLength}).");
        }

        if (trust.ClockSkew < TimeSpan.Zero || trust.ClockSkew > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{key}:ClockSkew must be between 00:00:00 and 00:05:00 (it is {trust.ClockSkew}).");
        }

        if (trust.MaxHeaderLength is < 1024 or > 65_536)
        {
            errors.Add($"{key}:MaxHeaderLength must be between 1024 and 65536 (it is {trust.MaxHeaderLength}).");
        }
    }
}
