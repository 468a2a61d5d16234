using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Token acquisition log events (event ids 1500–1599). Never a token, assertion or key.</summary>
internal static partial class TokenLog
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Debug, Message = "SecureComms client {ClientName} requests a token ({Reason}) from {TokenEndpoint}")]
    internal static partial void Requesting(ILogger logger, string clientName, string reason, Uri tokenEndpoint);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "SecureComms client {ClientName} obtained a token bound to certificate {CertificateSha256}, expiring {ExpiresAt}")]
    internal static partial void Acquired(ILogger logger, string clientName, DateTimeOffset expiresAt, string certificateSha256);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Error, Message = "SecureComms client {ClientName} could not obtain a token from {TokenEndpoint}: {Error} {ErrorDescription}")]
    internal static partial void Failed(ILogger logger, string clientName, string error, string errorDescription, Uri tokenEndpoint);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Trace, Message = "SecureComms client {ClientName} token cache hit")]
    internal static partial void CacheHit(ILogger logger, string clientName);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Information, Message = "SecureComms client {ClientName} uses token endpoint {TokenEndpoint} from the metadata of {Authority}")]
    internal static partial void TokenEndpointDiscovered(ILogger logger, string clientName, Uri tokenEndpoint, Uri authority);
}
