using System.Diagnostics;

namespace SecureComms;

/// <summary>
/// The <c>SecureComms</c> <see cref="ActivitySource"/>. <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>
/// returns null when nobody listens, so an uninstrumented service pays one check per span.
/// </summary>
internal static class SecureCommsActivitySource
{
    public static ActivitySource Instance { get; } =
        new(SecureCommsTelemetry.ActivitySourceName, typeof(SecureCommsActivitySource).Assembly.GetName().Version?.ToString());

    /// <summary>The OpenTelemetry <c>tls.protocol.version</c> value of a negotiated protocol (only 1.2 and 1.3 are ever enabled).</summary>
    public static string? TlsVersion(System.Security.Authentication.SslProtocols protocol) => protocol switch
    {
        System.Security.Authentication.SslProtocols.Tls13 => "1.3",
        System.Security.Authentication.SslProtocols.Tls12 => "1.2",
        _ => null,
    };
}
