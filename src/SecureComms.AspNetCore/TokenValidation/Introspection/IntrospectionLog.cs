using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Log events of opaque-token introspection (event ids 1540–1559). Never a token, never a token's text or prefix.</summary>
internal static partial class IntrospectionLog
{
    [LoggerMessage(EventId = 1540, Level = LogLevel.Debug, Message = "SecureComms introspected an opaque access token at {Endpoint}: active, client {ClientId}, expiring {ExpiresAt}")]
    internal static partial void Active(ILogger logger, Uri endpoint, string? clientId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1541, Level = LogLevel.Debug, Message = "SecureComms introspected an opaque access token at {Endpoint}: refused ({Reason})")]
    internal static partial void Refused(ILogger logger, Uri endpoint, string reason);

    [LoggerMessage(EventId = 1542, Level = LogLevel.Warning, Message = "SecureComms could not introspect an opaque access token at {Endpoint}: {ErrorType} {Error}")]
    internal static partial void Failed(ILogger logger, string endpoint, string errorType, string error);

    [LoggerMessage(EventId = 1543, Level = LogLevel.Information, Message = "SecureComms introspects opaque access tokens at {Endpoint}, named by the metadata of {Authority}")]
    internal static partial void EndpointDiscovered(ILogger logger, Uri endpoint, Uri authority);
}
