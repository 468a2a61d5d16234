using Microsoft.Extensions.Logging;

namespace SecureComms.Testing;

/// <summary>Log events of the development Workload API server (event ids 1850–1869). Never a key or a token.</summary>
internal static partial class WorkloadApiServerLog
{
    [LoggerMessage(EventId = 1850, Level = LogLevel.Warning, Message = "Development SPIFFE Workload API server for {SpiffeId} on {Address}: not a production SPIRE agent")]
    internal static partial void Started(ILogger logger, string spiffeId, string address);

    [LoggerMessage(EventId = 1851, Level = LogLevel.Information, Message = "Development Workload API server on {Address} stopped")]
    internal static partial void Stopped(ILogger logger, string address);

    [LoggerMessage(EventId = 1852, Level = LogLevel.Information, Message = "Issued X.509-SVID {Serial} for {SpiffeId}, valid until {NotAfter:O}; pushed to {Streams} stream(s)")]
    internal static partial void SvidIssued(ILogger logger, string serial, string spiffeId, DateTimeOffset notAfter, int streams);

    [LoggerMessage(EventId = 1853, Level = LogLevel.Information, Message = "Federated bundle of {TrustDomain} ({Count} certificate(s)) pushed")]
    internal static partial void FederatedBundleAdded(ILogger logger, string trustDomain, int count);

    [LoggerMessage(EventId = 1854, Level = LogLevel.Information, Message = "Raw X.509-SVID response for {SpiffeId} pushed to {Streams} stream(s)")]
    internal static partial void RawPushed(ILogger logger, string spiffeId, int streams);

    [LoggerMessage(EventId = 1855, Level = LogLevel.Information, Message = "{Streams} open stream(s) ended with {Status}: {Reason}")]
    internal static partial void StreamsEnded(ILogger logger, Grpc.Core.StatusCode status, string reason, int streams);

    [LoggerMessage(EventId = 1856, Level = LogLevel.Information, Message = "Workload API call {Method} rejected: the workload.spiffe.io header is missing")]
    internal static partial void MissingSecurityHeader(ILogger logger, string method);

    [LoggerMessage(EventId = 1857, Level = LogLevel.Information, Message = "Workload API call {Method} denied: no identity issued")]
    internal static partial void Denied(ILogger logger, string method);

    [LoggerMessage(EventId = 1858, Level = LogLevel.Information, Message = "Issued JWT-SVID for {SpiffeId} to audience {Audience} with key {KeyId}")]
    internal static partial void JwtSvidIssued(ILogger logger, string spiffeId, IEnumerable<string> audience, string keyId);

    [LoggerMessage(EventId = 1859, Level = LogLevel.Information, Message = "JWT bundle of {TrustDomain} pushed to {Streams} stream(s)")]
    internal static partial void JwtBundlePushed(ILogger logger, string trustDomain, int streams);

    [LoggerMessage(EventId = 1860, Level = LogLevel.Error, Message = "Automatic X.509-SVID rotation failed")]
    internal static partial void RotationFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1861, Level = LogLevel.Debug, Message = "{Method} stream opened ({Streams} open)")]
    internal static partial void StreamOpened(ILogger logger, string method, int streams);

    [LoggerMessage(EventId = 1862, Level = LogLevel.Debug, Message = "{Method} stream closed")]
    internal static partial void StreamClosed(ILogger logger, string method);
}
