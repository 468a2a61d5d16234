using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// Log events of workload certificate sources and of the shared file-change monitor (event ids 1000–1099).
/// Never key material: certificates are named by SPIFFE ID, expiry and a SHA-256 thumbprint prefix.
/// </summary>
internal static partial class CertificateSourceLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "SecureComms loaded workload certificate {SpiffeId} from {Source} (valid until {NotAfter:O}, SHA-256 {CertificateSha256Prefix}…)")]
    private static partial void CertificateLoaded(ILogger logger, SpiffeId spiffeId, string source, DateTimeOffset notAfter, string certificateSha256Prefix);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "SecureComms ignored a changed workload certificate from {Source} and keeps the last good one: {Reason}")]
    internal static partial void CertificateRotationRejected(ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "SecureComms cannot watch {Directory} for changes ({Reason}); relying on polling")]
    internal static partial void WatcherUnavailable(ILogger logger, string directory, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "SecureComms failed unexpectedly while reloading {Source}; the last good value stays in use")]
    internal static partial void ReloadFailed(ILogger logger, string source, Exception exception);

    /// <summary>Logs a loaded certificate with the first 16 characters (96 bits) of its base64url SHA-256 thumbprint.</summary>
    internal static void CertificateLoaded(ILogger logger, WorkloadCertificate certificate, string source) =>
        CertificateLoaded(logger, certificate.SpiffeId, source, certificate.NotAfter, certificate.Sha256Thumbprint[..16]);
}
