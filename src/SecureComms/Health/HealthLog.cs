using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Log events of certificate health (event ids 1700–1799). Certificates are named by SPIFFE ID and expiry only.</summary>
internal static partial class HealthLog
{
    [LoggerMessage(EventId = 1700, Level = LogLevel.Warning, Message = "SecureComms workload certificate {SpiffeId} expires at {NotAfter:O} ({Remaining} left) and has not been rotated; check what issues it (SPIRE agent, cert-manager, the mounted secret)")]
    internal static partial void CertificateExpiring(ILogger logger, SpiffeId spiffeId, DateTimeOffset notAfter, string remaining);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Error, Message = "SecureComms workload certificate {SpiffeId} expired at {NotAfter:O}; peers refuse it until a new one is rotated in")]
    internal static partial void CertificateExpired(ILogger logger, SpiffeId spiffeId, DateTimeOffset notAfter);
}
