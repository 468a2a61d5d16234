using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Log events of access-token validation on the receiving side (event ids 1210–1219, in the server's range).</summary>
internal static partial class TokenValidationLog
{
    [LoggerMessage(EventId = 1210, Level = LogLevel.Information, Message = "SecureComms fetched the issuer's signing keys: {Count} key(s), key ids {KeyIds}")]
    internal static partial void SigningKeysFetched(ILogger logger, int count, string keyIds);

    [LoggerMessage(EventId = 1211, Level = LogLevel.Warning, Message = "SecureComms could not fetch the issuer's signing keys (keeps the last good ones: {KeptLastGood}): {ErrorType} {Error}")]
    internal static partial void SigningKeysFetchFailed(ILogger logger, bool keptLastGood, string errorType, string error);

    [LoggerMessage(EventId = 1212, Level = LogLevel.Debug, Message = "SecureComms did not refresh the issuer's signing keys for an unknown key id: the last such refresh was less than KeyRefreshMinInterval ago (next allowed at {NextAllowed})")]
    internal static partial void KeyRefreshRateLimited(ILogger logger, DateTimeOffset nextAllowed);

    [LoggerMessage(EventId = 1213, Level = LogLevel.Debug, Message = "SecureComms validated a JWT-SVID of {SpiffeId} with key {KeyId} of trust domain {TrustDomain}, expiring {ExpiresAt}")]
    internal static partial void JwtSvidValidated(ILogger logger, SpiffeId spiffeId, string keyId, TrustDomain trustDomain, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1214, Level = LogLevel.Warning, Message = "SecureComms cannot validate JWT-SVIDs: no JWT bundle came from the Workload API within {Wait}")]
    internal static partial void JwtBundlesUnavailable(ILogger logger, TimeSpan wait);
}
