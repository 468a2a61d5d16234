namespace SecureComms;

/// <summary>When a workload certificate enters its renewal window, shared by the health check and the expiry warnings.</summary>
internal static class CertificateExpiry
{
    /// <summary>
    /// The moment less than a third of the certificate's lifetime, or less than <paramref name="threshold"/>, remains,
    /// whichever comes first. Issuers such as SPIRE renew at half the lifetime, so an SVID still unrotated at two thirds
    /// means rotation is stuck.
    /// </summary>
    public static DateTimeOffset RenewalOverdueFrom(WorkloadCertificate certificate, TimeSpan threshold)
    {
        TimeSpan third = (certificate.NotAfter - certificate.NotBefore) / 3;
        return certificate.NotAfter - (third > threshold ? third : threshold);
    }

    /// <summary>A short, human duration such as <c>2d 4h</c>, <c>3h 10m</c> or <c>45s</c>.</summary>
    public static string Describe(TimeSpan remaining)
    {
        if (remaining <= TimeSpan.Zero)
        {
            return "0s";
        }

        return remaining.TotalDays >= 1 ? $"{(int)remaining.TotalDays}d {remaining.Hours}h"
            : remaining.TotalHours >= 1 ? $"{(int)remaining.TotalHours}h {remaining.Minutes}m"
            : remaining.TotalMinutes >= 1 ? $"{(int)remaining.TotalMinutes}m {remaining.Seconds}s"
            : $"{(int)remaining.TotalSeconds}s";
    }
}
