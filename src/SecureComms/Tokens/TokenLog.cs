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

    [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "SecureComms client {ClientName} was not granted scope '{NotGranted}' by {TokenEndpoint} (granted '{Granted}'); the narrower token is used because Token:ScopeMismatch is Warn")]
    internal static partial void ScopeNotGranted(ILogger logger, string clientName, string notGranted, string granted, Uri tokenEndpoint);

    [LoggerMessage(EventId = 1506, Level = LogLevel.Debug, Message = "SecureComms client {ClientName} sent no token request: backing off until {RetryAt} after {Failures} consecutive failure(s), the last one {Error}")]
    internal static partial void BackingOff(ILogger logger, string clientName, DateTimeOffset retryAt, int failures, string error);

    [LoggerMessage(EventId = 1507, Level = LogLevel.Debug, Message = "SecureComms client {ClientName} keeps using its previous certificate {CertificateSha256} and the token bound to it while the token for its rotated certificate is requested")]
    internal static partial void KeepingPreviousPair(ILogger logger, string clientName, string certificateSha256);
}
