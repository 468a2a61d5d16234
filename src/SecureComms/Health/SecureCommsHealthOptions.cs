namespace SecureComms;

/// <summary>
/// Settings of the SecureComms health checks and certificate-expiry warnings (<c>SecureComms:Health</c>).
/// </summary>
public sealed class SecureCommsHealthOptions
{
    /// <summary>
    /// The workload certificate is reported <c>Degraded</c> (and warning event 1700 is logged) once less than a third of
    /// its lifetime remains, or less than this threshold, whichever comes first. Default <see cref="TimeSpan.Zero"/>:
    /// only the one-third rule, which suits short-lived SVIDs; set e.g. <c>7.00:00:00</c> for long-lived certificates.
    /// </summary>
    public TimeSpan CertificateExpiryWarning { get; set; } = TimeSpan.Zero;
}
