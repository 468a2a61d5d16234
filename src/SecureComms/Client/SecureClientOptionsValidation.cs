namespace SecureComms;

/// <summary>
/// The start-up rules of one <see cref="SecureClientOptions"/>: an https base address, the server identity it expects,
/// its connection settings, and through their own validations its token and user-context settings.
/// </summary>
internal static class SecureClientOptionsValidation
{
    /// <summary>Adds every problem of <paramref name="client"/> to <paramref name="errors"/>.</summary>
    /// <param name="key">The client's configuration key, e.g. <c>SecureComms:Clients:billing</c>.</param>
    /// <param name="client">The options to check.</param>
    /// <param name="errors">Receives one message per problem, each naming the key to fix.</param>
    internal static void Validate(string key, SecureClientOptions client, List<string> errors)
    {
        if (client.BaseAddress is { } address && (!address.IsAbsoluteUri || address.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{key}:BaseAddress '{address}' must be an absolute https:// address: SecureComms never sends plaintext.");
        }

        if (client.ExpectedServerAuthorizer is null)
        {
            if (string.IsNullOrWhiteSpace(client.ExpectedServer))
            {
                errors.Add($"{key}:ExpectedServer is required: the SPIFFE ID (or pattern such as spiffe://example.org/billing/*) the server must present.");
            }
            else if (!SpiffeIdAuthorizer.TryParse(client.ExpectedServer, out _, out string? error))
            {
                errors.Add($"{key}:ExpectedServer '{client.ExpectedServer}' is not a SPIFFE ID pattern: {error}");
            }
        }

        if (client.Token is { } token)
        {
            AccessTokenOptionsValidation.Validate(key + ":Token", token, errors);
        }

        if (client.UserContext is { } userContext)
        {
            UserContextOptionsValidation.Validate(key + ":UserContext", client, userContext, errors);
        }

        if (client.RotationDrainTime < TimeSpan.Zero)
        {
            errors.Add($"{key}:RotationDrainTime cannot be negative.");
        }

        if (client.PooledConnectionLifetime <= TimeSpan.Zero)
        {
            errors.Add($"{key}:PooledConnectionLifetime must be positive.");
        }

        if (client.ConnectTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{key}:ConnectTimeout must be positive.");
        }
    }
}
