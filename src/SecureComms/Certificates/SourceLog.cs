using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Log events of certificate and trust bundle sources (event ids 1000–1099 and 1100–1199). Never key material.</summary>
internal static partial class SourceLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "SecureComms loaded workload certificate {SpiffeId} from {Source} (valid until {NotAfter}, SHA-256 {CertificateSha256})")]
    internal static partial void CertificateLoaded(ILogger logger, SpiffeId spiffeId, string source, DateTimeOffset notAfter, string certificateSha256);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "SecureComms ignored a changed workload certificate from {Source} and keeps the last good one: {Reason}")]
    internal static partial void CertificateRotationRejected(ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "SecureComms cannot watch {Directory} for changes ({Reason}); polling only")]
    internal static partial void WatcherUnavailable(ILogger logger, string directory, string reason);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "SecureComms loaded trust bundles for {TrustDomains}")]
    internal static partial void BundlesLoaded(ILogger logger, TrustBundleSet trustDomains);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "SecureComms ignored changed trust bundles and keeps the last good ones: {Reason}")]
    internal static partial void BundleReloadRejected(ILogger logger, string reason);
}
