namespace SecureComms;

/// <summary>
/// Clients with <see cref="AccessTokenSource.JwtSvid"/> need the Workload API's address even when the identity comes
/// from files: <c>SecureComms:WorkloadApi:Socket</c> or <c>SPIFFE_ENDPOINT_SOCKET</c>.
/// </summary>
internal static class JwtSvidClientValidation
{
    internal static void Validate(SecureCommsOptions options, WorkloadApiEnvironment environment, List<string> errors)
    {
        if (WorkloadApiSelection.UsesWorkloadApi(options, environment))
        {
            return; // the address is validated with the identity source
        }

        foreach ((string name, SecureClientOptions client) in options.Clients)
        {
            if (client.Token is { Source: AccessTokenSource.JwtSvid })
            {
                string? address = WorkloadApiSelection.ResolveAddress(options.WorkloadApi, environment);
                if (address is null)
                {
                    errors.Add($"{SecureCommsOptions.SectionName}:WorkloadApi:Socket is required: {SecureCommsOptions.SectionName}:Clients:{name}:Token:Source is JwtSvid "
                        + $"(set the agent's address, unix:///path/to/agent.sock or tcp://ip:port, or the environment variable {WorkloadApiOptions.EndpointSocketVariable}).");
                }
                else if (!WorkloadApiEndpoint.TryParse(address, out _, out string? error))
                {
                    errors.Add($"{WorkloadApiSelection.AddressSourceName(options.WorkloadApi)}: {error}.");
                }

                return; // one message for every JWT-SVID client
            }
        }
    }
}
