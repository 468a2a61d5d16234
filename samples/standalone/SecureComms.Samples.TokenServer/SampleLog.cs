namespace SecureComms.Samples.TokenServer;

internal static partial class SampleLog
{
    [LoggerMessage(1, LogLevel.Warning, "DEVELOPMENT token server (not for production) issuing certificate-bound tokens at {Issuer} as {SpiffeId} for clients {Clients}")]
    public static partial void Started(ILogger logger, Uri issuer, SpiffeId spiffeId, string clients);
}
