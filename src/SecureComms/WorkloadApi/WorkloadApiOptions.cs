namespace SecureComms;

/// <summary>
/// How this workload reaches the SPIFFE Workload API (<c>SecureComms:WorkloadApi</c>): a SPIRE agent, or any server of
/// the SPIFFE Workload API specification. Used when <see cref="WorkloadCertificateOptions.Source"/> selects the Workload
/// API. Read at start-up.
/// </summary>
public sealed class WorkloadApiOptions
{
    /// <summary>The name of the environment variable the SPIFFE specification defines for the endpoint: <c>SPIFFE_ENDPOINT_SOCKET</c>.</summary>
    public const string EndpointSocketVariable = "SPIFFE_ENDPOINT_SOCKET";

    /// <summary>
    /// The Workload API endpoint: <c>unix:///absolute/path</c> or <c>tcp://ip-address:port</c> (SPIFFE Workload Endpoint
    /// §4). Default: the value of the <c>SPIFFE_ENDPOINT_SOCKET</c> environment variable.
    /// </summary>
    public string? Socket { get; set; }

    /// <summary>
    /// How long start-up waits for the first X.509-SVID (the agent may start after the workload) before it fails with a
    /// message naming the socket. Default 30 seconds; at least 1 second.
    /// </summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Which X.509-SVID to use when the agent issues several: the one whose <c>hint</c> equals this value. Default none:
    /// the first SVID, which the specification makes the default.
    /// </summary>
    public string? Hint { get; set; }

    /// <summary>First delay before reconnecting after the stream broke; doubles with jitter up to <see cref="MaxReconnectDelay"/>. Default 1 second.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between reconnection attempts. Default 30 seconds.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);
}
