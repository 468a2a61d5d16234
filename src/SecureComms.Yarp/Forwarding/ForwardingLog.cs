using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Log events of YARP forwarding through SecureComms clients (event ids 2000–2099).</summary>
internal static partial class ForwardingLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "YARP cluster {ClusterId} forwards through SecureComms client {ClusterId}")]
    internal static partial void ClusterForwarded(ILogger logger, string clusterId);
}
