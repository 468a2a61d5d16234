using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>Fails start-up on unsafe or incomplete token-validation settings, naming each key.</summary>
internal sealed class SecureCommsTokenValidationOptionsValidator : IValidateOptions<SecureCommsTokenValidationOptions>
{
    private const string Key = SecureCommsOptions.SectionName + ":TokenValidation:";

    public ValidateOptionsResult Validate(string? name, SecureCommsTokenValidationOptions options)
    {
        var errors = new List<string>();
        ValidateJwtSvids(options, errors);
        if (options.Authority is null)
        {
            if (options.Introspection.Enabled)
            {
                errors.Add($"{Key}Introspection:Enabled requires {Key}Authority: the authorization server whose opaque tokens are introspected (its issuer is compared with iss, its metadata may name the endpoint).");
            }

            if (options.AcceptJwtSvids)
            {
                ValidateCommon(options, errors);
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }

        if (!options.Authority.IsAbsoluteUri || options.Authority.Scheme != Uri.UriSchemeHttps)
        {
            errors.Add($"{Key}Authority '{options.Authority}' must be an absolute https:// address.");
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            errors.Add($"{Key}Audience is required: this service's resource identifier, which tokens must be issued for.");
        }

        foreach (string algorithm in options.Algorithms)
        {
            if (algorithm.Equals("none", StringComparison.OrdinalIgnoreCase) || algorithm.StartsWith("HS", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{Key}Algorithms: '{algorithm}' is not allowed (no unsigned tokens, no shared-secret HMAC).");
            }
        }

        ValidateCommon(options, errors);
        ValidateIntrospection(options.Introspection, errors);
        if (options.KeyRefreshMinInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{Key}KeyRefreshMinInterval must be at least 00:00:01.");
        }

        if (options.ExpectedServer is not null && !SpiffeIdAuthorizer.TryParse(options.ExpectedServer, out _, out string? error))
        {
            errors.Add($"{Key}ExpectedServer '{options.ExpectedServer}' is not a SPIFFE ID pattern: {error}");
        }

        if (options.ServerCaBundlePath is not null)
        {
            if (options.ExpectedServer is not null)
            {
                errors.Add($"{Key}ServerCaBundlePath and {Key}ExpectedServer are both set: the authorization server is either a SPIFFE workload (ExpectedServer) or an HTTPS server with a certificate of an internal CA (ServerCaBundlePath).");
            }

            if (!ServerCaBundle.TryLoad(options.ServerCaBundlePath, out _, out string? bundleError))
            {
                errors.Add($"{Key}ServerCaBundlePath: {bundleError}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>JWT-SVID acceptance: an audience, and no JWT-SVID setting left behind when it is off.</summary>
    private static void ValidateJwtSvids(SecureCommsTokenValidationOptions options, List<string> errors)
    {
        if (options.AcceptJwtSvids && string.IsNullOrWhiteSpace(options.JwtSvidAudience))
        {
            errors.Add($"{Key}JwtSvidAudience is required with {Key}AcceptJwtSvids: the audience JWT-SVIDs must be issued for (the callers' Token:Audience).");
        }

        if (!options.AcceptJwtSvids && options.JwtSvidAudience is not null)
        {
            errors.Add($"{Key}JwtSvidAudience is set but {Key}AcceptJwtSvids is false: set AcceptJwtSvids to true to accept JWT-SVIDs, or remove JwtSvidAudience.");
        }
    }

    /// <summary>Opaque tokens: an https endpoint (or the metadata's), a client id, and bounded cache settings and timeout.</summary>
    private static void ValidateIntrospection(SecureCommsIntrospectionOptions introspection, List<string> errors)
    {
        const string Section = Key + "Introspection:";
        if (!introspection.Enabled)
        {
            if (introspection.Endpoint is not null || introspection.ClientId is not null)
            {
                errors.Add($"{Section}Endpoint or ClientId is set but {Section}Enabled is false: set Enabled to true to accept opaque tokens, or remove them.");
            }

            return;
        }

        if (introspection.Endpoint is { } endpoint && (!endpoint.IsAbsoluteUri || endpoint.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{Section}Endpoint '{endpoint}' must be an absolute https:// address (or left out to take it from the authority's metadata).");
        }

        if (string.IsNullOrWhiteSpace(introspection.ClientId))
        {
            errors.Add($"{Section}ClientId is required: this service's client id at the authorization server (registered for tls_client_auth with this service's SPIFFE ID).");
        }

        if (introspection.MaxCacheDuration < TimeSpan.Zero || introspection.MaxCacheDuration > TimeSpan.FromHours(1))
        {
            errors.Add($"{Section}MaxCacheDuration must be between 0 and 01:00:00.");
        }

        if (introspection.NegativeCacheDuration < TimeSpan.Zero || introspection.NegativeCacheDuration > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{Section}NegativeCacheDuration must be between 0 and 00:05:00.");
        }

        if (introspection.MaxCacheEntries < 0)
        {
            errors.Add($"{Section}MaxCacheEntries cannot be negative (0 disables the cache).");
        }

        if (introspection.Timeout <= TimeSpan.Zero || introspection.Timeout > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{Section}Timeout must be more than 0 and at most 00:01:00.");
        }
    }

    private static void ValidateCommon(SecureCommsTokenValidationOptions options, List<string> errors)
    {
        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{Key}ClockSkew must be between 0 and 00:05:00.");
        }

        if (options.ValidatedTokenCacheSize < 0)
        {
            errors.Add($"{Key}ValidatedTokenCacheSize cannot be negative.");
        }
    }
}
