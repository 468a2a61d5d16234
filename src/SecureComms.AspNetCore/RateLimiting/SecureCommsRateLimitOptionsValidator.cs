using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>Fails start-up on an invalid rate limit, naming the key.</summary>
internal sealed class SecureCommsRateLimitOptionsValidator : IValidateOptions<SecureCommsRateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, SecureCommsRateLimitOptions options)
    {
        var errors = new List<string>();
        for (int i = 0; i < options.RateLimits.Count; i++)
        {
            CallerRateLimitOptions limit = options.RateLimits[i];
            string key = $"{SecureCommsOptions.SectionName}:Authorization:RateLimits:{i}";
            if (limit.Callers.Count == 0)
            {
                errors.Add($"{key}:Callers is empty: name the caller SPIFFE ID patterns this limit applies to.");
            }

            for (int c = 0; c < limit.Callers.Count; c++)
            {
                if (!SpiffeIdAuthorizer.TryParse(limit.Callers[c], out _, out string? error))
                {
                    errors.Add($"{key}:Callers:{c} '{limit.Callers[c]}': {error}");
                }
            }

            if (limit.PermitLimit < 1)
            {
                errors.Add($"{key}:PermitLimit must be at least 1.");
            }

            if (limit.Window <= TimeSpan.Zero)
            {
                errors.Add($"{key}:Window must be positive.");
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
