using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>JWT-SVID log events of the Workload API client (event ids 1830–1849). Never a token or key.</summary>
internal static partial class JwtSvidLog
{
    [LoggerMessage(EventId = 1830, Level = LogLevel.Information, Message = "SecureComms client {ClientName} obtained a JWT-SVID for {SpiffeId}, audience {Audience}, expiring {ExpiresAt}")]
    internal static partial void Fetched(ILogger logger, string clientName, string spiffeId, string audience, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1835, Level = LogLevel.Information, Message = "SecureComms applied JWT bundles from the Workload API: {TrustDomains} ({KeyCount} key(s), key ids {KeyIds})")]
    internal static partial void BundlesApplied(ILogger logger, string trustDomains, int keyCount, string keyIds);

    [LoggerMessage(EventId = 1836, Level = LogLevel.Warning, Message = "SecureComms ignored a JWT bundle update from the Workload API and keeps the last good bundles: {Problem}")]
    internal static partial void BundleRejected(ILogger logger, string problem);

    [LoggerMessage(EventId = 1837, Level = LogLevel.Warning, Message = "SecureComms lost the JWT bundle stream of the Workload API at {Socket} ({Reason}); reconnecting in {Delay}, keeping the current bundles")]
    internal static partial void StreamBroken(ILogger logger, string socket, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 1838, Level = LogLevel.Error, Message = "SecureComms gets no JWT bundles from the Workload API at {Socket}: no identity is registered for this workload (PermissionDenied); retrying in {Delay}")]
    internal static partial void PermissionDenied(ILogger logger, string socket, TimeSpan delay);

    [LoggerMessage(EventId = 1839, Level = LogLevel.Debug, Message = "SecureComms skipped JWK {KeyId} of trust domain {TrustDomain}: {Reason}")]
    internal static partial void KeySkipped(ILogger logger, string keyId, string trustDomain, string reason);
}
