using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Validates <see cref="SecureCommsServerOptions"/> at start-up, listing every problem with its configuration key.
/// Plaintext is never silent: an <c>http://</c> address outside <c>PlaintextEndpoints</c>, including one in Kestrel's
/// own <c>Kestrel:Endpoints</c> section, stops start-up.
/// </summary>
internal sealed class SecureCommsServerOptionsValidator(IConfiguration? configuration = null) : IValidateOptions<SecureCommsServerOptions>
{
    private const string Key = SecureCommsOptions.SectionName + ":Server:";

    public ValidateOptionsResult Validate(string? name, SecureCommsServerOptions options)
    {
        var errors = new List<string>();
        for (int i = 0; i < options.Urls.Count; i++)
        {
            string url = options.Urls[i];
            if (!ListenAddress.TryParse(url, out ListenAddress address, out string? error))
            {
                errors.Add($"{Key}Urls:{i} '{url}' is not a listener address: {error}");
            }
            else if (!address.IsHttps)
            {
                errors.Add($"{Key}Urls:{i} '{url}' is plaintext. SecureComms listeners are https with mutual TLS; to open a plaintext port on purpose, name it under {Key}PlaintextEndpoints:{{purpose}}:Url.");
            }
        }

        foreach ((string purpose, PlaintextEndpointOptions endpoint) in options.PlaintextEndpoints)
        {
            if (string.IsNullOrWhiteSpace(endpoint.Url))
            {
                errors.Add($"{Key}PlaintextEndpoints:{purpose}:Url is required.");
            }
            else if (!ListenAddress.TryParse(endpoint.Url, out ListenAddress address, out string? error))
            {
                errors.Add($"{Key}PlaintextEndpoints:{purpose}:Url '{endpoint.Url}' is not a listener address: {error}");
            }
            else if (address.IsHttps)
            {
                errors.Add($"{Key}PlaintextEndpoints:{purpose}:Url '{endpoint.Url}' is https; list https addresses under {Key}Urls.");
            }
        }

        ForwardedCertificateOptions forwarded = options.ForwardedCertificates;
        TrustedProxies.TryCompile(forwarded.TrustedProxies, out _, errors, Key + "ForwardedCertificates:TrustedProxies");
        if (forwarded.MaxHeaderLength is < 1024 or > 64 * 1024)
        {
            errors.Add($"{Key}ForwardedCertificates:MaxHeaderLength must be between 1024 and 65536.");
        }

        if (!Enum.IsDefined(forwarded.Format))
        {
            errors.Add($"{Key}ForwardedCertificates:Format must be ClientCert, EnvoyXfcc or NginxEscapedPem.");
        }

        if (options.HandshakeTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{Key}HandshakeTimeout must be positive.");
        }

        if (configuration is not null)
        {
            foreach (IConfigurationSection endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
            {
                string? url = endpoint["Url"];
                if (url is not null && url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add($"Kestrel:Endpoints:{endpoint.Key}:Url '{url}' is a plaintext listener outside SecureComms. Remove it, or open it on purpose under {Key}PlaintextEndpoints:{{purpose}}:Url.");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
