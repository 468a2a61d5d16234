using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// The process's one <see cref="WorkloadApiConnection"/>, at <c>SecureComms:WorkloadApi:Socket</c> or else the
/// <c>SPIFFE_ENDPOINT_SOCKET</c> environment variable (SPIFFE Workload Endpoint §4). A missing or malformed address
/// fails with a message naming both.
/// </summary>
internal static class WorkloadApiConnectionFactory
{
    private const string SocketKey = SecureCommsOptions.SectionName + ":WorkloadApi:Socket";

    /// <summary>Registered with <c>TryAddSingleton</c>: every Workload API user shares this connection.</summary>
    internal static WorkloadApiConnection Create(IServiceProvider services)
    {
        SecureCommsOptions options = services.GetRequiredService<IOptions<SecureCommsOptions>>().Value;
        return new WorkloadApiConnection(ParseEndpoint(options.WorkloadApi), services.GetService<ILoggerFactory>());
    }

    /// <summary>The configured address as a URI, for errors and spans.</summary>
    internal static Uri ResolveAddress(WorkloadApiOptions options) => new(ParseEndpoint(options).Address);

    private static WorkloadApiEndpoint ParseEndpoint(WorkloadApiOptions options)
    {
        string? address = options.Socket ?? Environment.GetEnvironmentVariable(WorkloadApiOptions.EndpointSocketVariable);
        if (string.IsNullOrWhiteSpace(address))
        {
            throw new InvalidOperationException($"{SocketKey} is not set and neither is the {WorkloadApiOptions.EndpointSocketVariable} environment variable: the SPIFFE Workload API cannot be reached.");
        }

        return WorkloadApiEndpoint.TryParse(address, out WorkloadApiEndpoint? endpoint, out string? error)
            ? endpoint
            : throw new InvalidOperationException($"{(options.Socket is null ? WorkloadApiOptions.EndpointSocketVariable : SocketKey)}: {error}");
    }
}
