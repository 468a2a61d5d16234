namespace SecureComms;

/// <summary>The start-up rules of the <see cref="TrustBundleOptions"/>: at least one bundle, each a trust domain with its file.</summary>
internal static class TrustBundleOptionsValidation
{
    /// <summary>Adds every problem of <paramref name="bundles"/> to <paramref name="errors"/>.</summary>
    /// <param name="key">The section's configuration key, e.g. <c>SecureComms:TrustBundles</c>.</param>
    /// <param name="bundles">The bundles by trust domain name.</param>
    /// <param name="errors">Receives one message per problem, each naming the key to fix.</param>
    internal static void Validate(string key, IDictionary<string, TrustBundleOptions> bundles, List<string> errors)
    {
        if (bundles.Count == 0)
        {
            errors.Add($"{key} is empty: add at least your own trust domain, e.g. {key}:example.org:Path=/etc/spiffe/bundle.pem. Without a bundle no peer can be trusted.");
            return;
        }

        foreach ((string trustDomain, TrustBundleOptions bundle) in bundles)
        {
            string bundleKey = $"{key}:{trustDomain}";
            if (!TrustDomain.TryParse(trustDomain, out _, out string? error) || trustDomain.Contains(':', StringComparison.Ordinal))
            {
                errors.Add($"{bundleKey}: '{trustDomain}' is not a trust domain name: {error ?? "use the bare name, e.g. example.org."}");
            }

            ConfiguredFile.Require(bundleKey + ":Path", bundle.Path, errors);
            if (!Enum.IsDefined(bundle.Format))
            {
                errors.Add($"{bundleKey}:Format must be Pem or SpiffeBundle.");
            }
        }
    }
}
