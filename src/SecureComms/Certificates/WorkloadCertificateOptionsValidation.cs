using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>The start-up rules of <see cref="WorkloadCertificateOptions"/>: exactly one form, and its files present.</summary>
internal static class WorkloadCertificateOptionsValidation
{
    /// <summary>Adds every problem of <paramref name="certificate"/> to <paramref name="errors"/>.</summary>
    /// <param name="key">The section's configuration key with its trailing colon, e.g. <c>SecureComms:Certificate:</c>.</param>
    /// <param name="certificate">The options to check.</param>
    /// <param name="errors">Receives one message per problem, each naming the key to fix.</param>
    internal static void Validate(string key, WorkloadCertificateOptions certificate, List<string> errors)
    {
        int forms = (certificate.CertificatePath is not null || certificate.KeyPath is not null ? 1 : 0)
            + (certificate.Pkcs12Path is not null ? 1 : 0)
            + (certificate.StoreThumbprint is not null ? 1 : 0);
        if (forms == 0)
        {
            errors.Add($"{key}CertificatePath and {key}KeyPath are required: the workload's X.509-SVID and its private key as PEM files (or set {key}Pkcs12Path, or {key}StoreThumbprint), "
                + $"unless the identity comes from the SPIFFE Workload API: set {SecureCommsOptions.SectionName}:WorkloadApi:Socket (or the environment variable {WorkloadApiOptions.EndpointSocketVariable}) "
                + $"with {key}Source=WorkloadApi or Automatic.");
            return;
        }

        if (forms > 1)
        {
            errors.Add($"{key}: configure exactly one of CertificatePath+KeyPath, Pkcs12Path or StoreThumbprint.");
            return;
        }

        if (certificate.CertificatePath is not null || certificate.KeyPath is not null)
        {
            ConfiguredFile.Require(key + "CertificatePath", certificate.CertificatePath, errors);
            ConfiguredFile.Require(key + "KeyPath", certificate.KeyPath, errors);
        }
        else if (certificate.Pkcs12Path is not null)
        {
            ConfiguredFile.Require(key + "Pkcs12Path", certificate.Pkcs12Path, errors);
        }
        else
        {
            if (!Enum.TryParse<StoreLocation>(certificate.StoreLocation, ignoreCase: true, out _))
            {
                errors.Add($"{key}StoreLocation '{certificate.StoreLocation}' is not CurrentUser or LocalMachine.");
            }

            if (string.IsNullOrWhiteSpace(certificate.StoreName))
            {
                errors.Add($"{key}StoreName is empty.");
            }
        }
    }
}
