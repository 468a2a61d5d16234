using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// Log events of the X.509 source fed by the SPIFFE Workload API (event ids 1800–1829). Never key material:
/// certificates are named by SPIFFE ID, expiry and a SHA-256 thumbprint prefix; refusals by their reason.
/// A pushed rotation is logged as a file rotation is (1000 for the certificate, 1100 for the bundles).
/// </summary>
internal static partial class WorkloadApiLog
{
    [LoggerMessage(EventId = 1800, Level = LogLevel.Information, Message = "SecureComms connected to the SPIFFE Workload API at {Endpoint}")]
    internal static partial void Connected(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 1801, Level = LogLevel.Information, Message = "SecureComms received its first X.509-SVID {SpiffeId} from the Workload API at {Endpoint} (valid until {NotAfter:O}, SHA-256 {CertificateSha256Prefix}…); trust bundles: {TrustDomains}")]
    private static partial void FirstSvid(ILogger logger, SpiffeId spiffeId, string endpoint, DateTimeOffset notAfter, string certificateSha256Prefix, TrustBundleSet trustDomains);

    [LoggerMessage(EventId = 1804, Level = LogLevel.Warning, Message = "SecureComms ignored an X.509-SVID update from the Workload API at {Endpoint} and keeps the last good one: {Reason}")]
    internal static partial void UpdateRefused(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 1805, Level = LogLevel.Information, Message = "SecureComms takes its identity from the SPIFFE Workload API (SecureComms:Certificate:Source is WorkloadApi), so these settings are not read: {IgnoredKeys}")]
    internal static partial void FileSettingsIgnored(ILogger logger, IEnumerable<string> ignoredKeys);

    [LoggerMessage(EventId = 1806, Level = LogLevel.Warning, Message = "SecureComms lost the SPIFFE Workload API stream at {Endpoint} ({Reason}); it keeps serving {SpiffeId} (valid until {NotAfter:O}) and reconnects in {Delay}")]
    internal static partial void StreamBroken(ILogger logger, string endpoint, string reason, string spiffeId, DateTimeOffset? notAfter, TimeSpan delay);

    [LoggerMessage(EventId = 1807, Level = LogLevel.Warning, Message = "SecureComms is denied by the SPIFFE Workload API at {Endpoint}: no identity registered for this workload; it keeps serving {SpiffeId} (valid until {NotAfter:O}) and asks again in {Delay}")]
    internal static partial void PermissionDenied(ILogger logger, string endpoint, string spiffeId, DateTimeOffset? notAfter, TimeSpan delay);

    [LoggerMessage(EventId = 1808, Level = LogLevel.Information, Message = "SecureComms is waiting for the SPIFFE Workload API at {Endpoint} ({Reason}); start-up fails after {StartupTimeout}")]
    internal static partial void Waiting(ILogger logger, string endpoint, string reason, TimeSpan startupTimeout);

    [LoggerMessage(EventId = 1810, Level = LogLevel.Error, Message = "SecureComms' SPIFFE Workload API stream at {Endpoint} failed unexpectedly; it reconnects")]
    internal static partial void UnexpectedFailure(ILogger logger, string endpoint, Exception exception);

    /// <summary>Logs the first SVID with the first 16 characters (96 bits) of its base64url SHA-256 thumbprint.</summary>
    internal static void FirstSvid(ILogger logger, string endpoint, X509SvidUpdate update) =>
        FirstSvid(logger, update.Certificate.SpiffeId, endpoint, update.Certificate.NotAfter, update.Certificate.Sha256Thumbprint[..16], update.Bundles);
}
