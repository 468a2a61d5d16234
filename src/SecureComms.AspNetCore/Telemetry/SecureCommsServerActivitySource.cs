using System.Diagnostics;

namespace SecureComms;

/// <summary>
/// This package's <c>SecureComms</c> <see cref="ActivitySource"/>: the same name as the core package's, so a listener
/// (OpenTelemetry's <c>AddSource("SecureComms")</c>) receives both packages' spans; its own instance, so the server
/// shares no static state with the core package. <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>
/// returns null when nobody listens.
/// </summary>
internal static class SecureCommsServerActivitySource
{
    public static ActivitySource Instance { get; } =
        new(SecureCommsTelemetry.ActivitySourceName, typeof(SecureCommsServerActivitySource).Assembly.GetName().Version?.ToString());
}
