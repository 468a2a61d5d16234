using Microsoft.Extensions.Logging;

namespace SecureComms.Testing;

/// <summary>Log events of the development token server (event ids 1600–1699). Never a token or key.</summary>
internal static partial class TokenServerLog
{
    [LoggerMessage(EventId = 1600, Level = LogLevel.Warning, Message = "Development token server on {Issuer}: not a production authorization server")]
    internal static partial void Started(ILogger logger, string issuer);

    [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Development token server refused client {ClientId}: {Error} ({Description})")]
    internal static partial void Refused(ILogger logger, string clientId, string error, string description);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Information, Message = "Development token server issued a token to {ClientId} for {Audience}, bound to certificate {CertificateSha256}")]
    internal static partial void Issued(ILogger logger, string clientId, string audience, string certificateSha256);
}
