using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Log events of trust bundle sources (event ids 1100–1199). Never certificate contents.</summary>
internal static partial class TrustBundleLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "SecureComms loaded trust bundles for {TrustDomains}")]
    internal static partial void BundlesLoaded(ILogger logger, TrustBundleSet trustDomains);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "SecureComms ignored changed trust bundles and keeps the last good ones: {Reason}")]
    internal static partial void BundleReloadRejected(ILogger logger, string reason);
}
