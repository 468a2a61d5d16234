using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>Fails start-up on an invalid central policy, listing every problem with its configuration key.</summary>
internal sealed class SecureCommsAuthorizationOptionsValidator : IValidateOptions<SecureCommsAuthorizationOptions>
{
    public ValidateOptionsResult Validate(string? name, SecureCommsAuthorizationOptions options)
    {
        var errors = new List<string>();
        CentralPolicy.Compile(options, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
