using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Validates <see cref="SecureCommsOptions"/> at start-up and reports every problem at once, each naming the
/// configuration key to fix. Each capability's rules live next to its options (<see cref="WorkloadCertificateOptionsValidation"/>,
/// <see cref="TrustBundleOptionsValidation"/>, <see cref="SecureCommsHealthOptionsValidation"/>,
/// <see cref="SecureClientOptionsValidation"/> with <see cref="AccessTokenOptionsValidation"/> and
/// <see cref="UserContextOptionsValidation"/>); this one registration runs them in a fixed order, so the start-up
/// message lists every problem of every section.
/// </summary>
internal sealed class SecureCommsOptionsValidator(WorkloadApiEnvironment environment) : IValidateOptions<SecureCommsOptions>
{
    private const string Prefix = SecureCommsOptions.SectionName + ":";

    /// <summary>Reads <c>SPIFFE_ENDPOINT_SOCKET</c> from this process's environment.</summary>
    public SecureCommsOptionsValidator()
        : this(WorkloadApiEnvironment.Process)
    {
    }

    public ValidateOptionsResult Validate(string? name, SecureCommsOptions options)
    {
        var errors = new List<string>();
        if (WorkloadApiSelection.UsesWorkloadApi(options, environment))
        {
            // The certificate and bundle files are not read (explicit selection logs which, event 1805).
            WorkloadApiOptionsValidation.Validate(Prefix + "WorkloadApi", options, environment, errors);
        }
        else
        {
            if (!options.HasCustomCertificateSource)
            {
                WorkloadCertificateOptionsValidation.Validate(Prefix + "Certificate:", options.Certificate, errors);
            }

            if (!options.HasCustomTrustBundleSource)
            {
                TrustBundleOptionsValidation.Validate(Prefix + "TrustBundles", options.TrustBundles, errors);
            }
        }

        if (options.FilePollingInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{Prefix}FilePollingInterval must be at least 00:00:01 (it is {options.FilePollingInterval}).");
        }

        SecureCommsHealthOptionsValidation.Validate(Prefix + "Health", options.Health, errors);
        foreach ((string clientName, SecureClientOptions client) in options.Clients)
        {
            SecureClientOptionsValidation.Validate($"{Prefix}Clients:{clientName}", client, errors);
        }

        JwtSvidClientValidation.Validate(options, environment, errors);

        UserContextOptionsValidation.Validate(Prefix + "UserContext", options.UserContext, errors);

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
