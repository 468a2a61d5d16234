namespace SecureComms;

/// <summary>The start-up rules of <see cref="WorkloadApiOptions"/>, applied when the Workload API is the identity source.</summary>
internal static class WorkloadApiOptionsValidation
{
    /// <summary>Adds every problem to <paramref name="errors"/>, each naming the key (or environment variable) to fix.</summary>
    /// <param name="key">The section's configuration key, e.g. <c>SecureComms:WorkloadApi</c>.</param>
    /// <param name="options">The whole options, for the selection and the trust bundle settings.</param>
    /// <param name="environment">Where <c>SPIFFE_ENDPOINT_SOCKET</c> is read.</param>
    /// <param name="errors">Receives one message per problem.</param>
    internal static void Validate(string key, SecureCommsOptions options, WorkloadApiEnvironment environment, List<string> errors)
    {
        WorkloadApiOptions workloadApi = options.WorkloadApi;
        string? address = WorkloadApiSelection.ResolveAddress(workloadApi, environment);
        if (address is null)
        {
            errors.Add($"{key}:Socket is required when {SecureCommsOptions.SectionName}:Certificate:Source is WorkloadApi: the agent's address, "
                + $"unix:///path/to/agent.sock or tcp://ip:port (or set the environment variable {WorkloadApiOptions.EndpointSocketVariable}).");
        }
        else if (!WorkloadApiEndpoint.TryParse(address, out _, out string? error))
        {
            errors.Add($"{WorkloadApiSelection.AddressSourceName(workloadApi)}: {error}.");
        }

        if (workloadApi.StartupTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{key}:StartupTimeout must be at least 00:00:01 (it is {workloadApi.StartupTimeout}).");
        }

        if (workloadApi.ReconnectDelay <= TimeSpan.Zero)
        {
            errors.Add($"{key}:ReconnectDelay must be more than zero (it is {workloadApi.ReconnectDelay}).");
        }

        if (workloadApi.MaxReconnectDelay < workloadApi.ReconnectDelay)
        {
            errors.Add($"{key}:MaxReconnectDelay must be at least {key}:ReconnectDelay ({workloadApi.ReconnectDelay}; it is {workloadApi.MaxReconnectDelay}).");
        }

        if (workloadApi.Hint is { } hint && string.IsNullOrWhiteSpace(hint))
        {
            errors.Add($"{key}:Hint is blank; remove it to use the first SVID, or set the hint of the SVID to use.");
        }

        // Automatic selection took the Workload API because no certificate is configured; bundle files beside it are
        // a contradiction (whose bundles win?), so start-up asks which one was meant.
        if (options.Certificate.Source == CertificateSourceKind.Automatic && options.TrustBundles.Count > 0 && !options.HasCustomTrustBundleSource)
        {
            errors.Add($"{SecureCommsOptions.SectionName}:TrustBundles: the identity comes from the SPIFFE Workload API at "
                + $"{WorkloadApiSelection.DescribeAddress(workloadApi, environment)} (no certificate is configured), and bundles come from the Workload API; "
                + $"remove TrustBundles or set {SecureCommsOptions.SectionName}:Certificate:Source=Files.");
        }
    }
}
