using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Log events of outbound mutual-TLS clients (event ids 1300–1399).</summary>
internal static partial class ClientLog
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Warning, Message = "SecureComms client {ClientName} rejected the server certificate: {Reason} ({Detail})")]
    internal static partial void ServerCertificateRejected(ILogger logger, string clientName, SvidValidationFailure reason, string detail);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "SecureComms client {ClientName} refused server {ServerSpiffeId}: expected {ExpectedServer}")]
    internal static partial void UnexpectedServer(ILogger logger, string clientName, SpiffeId serverSpiffeId, SpiffeIdAuthorizer? expectedServer);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "SecureComms client {ClientName} refused a request with scheme '{Scheme}': only https is allowed")]
    internal static partial void PlaintextRefused(ILogger logger, string clientName, string scheme);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information, Message = "SecureComms client {ClientName} switched to a new connection pool for rotated certificate {SpiffeId} (valid until {NotAfter})")]
    internal static partial void PoolRotated(ILogger logger, string clientName, SpiffeId spiffeId, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "SecureComms client {ClientName} rejected the server certificate: {Reason}")]
    internal static partial void ServerCertificateRefused(ILogger logger, string clientName, string reason);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Error, Message = "SecureComms client {ClientName} refused its handler configuration: it changed {Setting}, which SecureComms sets itself")]
    internal static partial void HandlerConfigurationRefused(ILogger logger, string clientName, string setting);
}
