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
