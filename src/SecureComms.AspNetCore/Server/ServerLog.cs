using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Log events of the server side (event ids 1200–1299).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "SecureComms refused a TLS handshake: client certificate {Reason} ({Detail})")]
    internal static partial void HandshakeRejected(ILogger logger, SvidValidationFailure reason, string detail);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "SecureComms serves rotated certificate {SpiffeId} (valid until {NotAfter}) to new connections")]
    internal static partial void ServingRotatedCertificate(ILogger logger, SpiffeId spiffeId, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Debug, Message = "SecureComms rejected the access token of {Caller} {Method} {Path}: {Reason}")]
    internal static partial void TokenRejected(ILogger logger, SpiffeId caller, string method, Microsoft.AspNetCore.Http.PathString path, string reason);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "SecureComms ignored a forwarded client certificate header from {Peer}, which is not a trusted proxy: possible spoofing attempt")]
    internal static partial void ForwardedCertificateSpoofing(ILogger logger, string peer);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "SecureComms rejected the client certificate forwarded by {Proxy}: {Reason}")]
    internal static partial void ForwardedCertificateRejected(ILogger logger, string proxy, string reason);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "SecureComms rejected a request: caller certificate {Reason} ({Detail})")]
    internal static partial void PeerRejected(ILogger logger, SvidValidationFailure reason, string detail);
}
