namespace SecureComms;

/// <summary>The start-up rules of <see cref="SecureCommsHealthOptions"/>.</summary>
internal static class SecureCommsHealthOptionsValidation
{
    /// <summary>Adds every problem of <paramref name="health"/> to <paramref name="errors"/>.</summary>
    /// <param name="key">The section's configuration key, e.g. <c>SecureComms:Health</c>.</param>
    /// <param name="health">The options to check.</param>
    /// <param name="errors">Receives one message per problem, each naming the key to fix.</param>
    internal static void Validate(string key, SecureCommsHealthOptions health, List<string> errors)
    {
        if (health.CertificateExpiryWarning < TimeSpan.Zero)
        {
            errors.Add($"{key}:CertificateExpiryWarning must not be negative (it is {health.CertificateExpiryWarning}).");
        }
    }
}
