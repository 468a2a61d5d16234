using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;

namespace SecureComms.Tests.Health;

/// <summary>
/// SecureComms' core registered as an application would (so the health checks run through
/// <see cref="HealthCheckService"/>), with a manual clock, a log collector and in-memory sources.
/// </summary>
internal static class HealthTestHost
{
    public static readonly TrustDomain ExampleOrg = TrustDomain.Parse("example.org");
    public static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    public static ServiceProvider Build(FakeTimeProvider time, ICertificateSource certificates, ITrustBundleSource bundles, Action<SecureCommsOptions>? configure = null, FakeLogger? log = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        if (log is not null)
        {
            services.AddSingleton<ILoggerFactory>(FakeLogs.LoggerFactory(log.Collector));
        }

        services.AddSecureCommsCore(o => configure?.Invoke(o))
            .UseCertificateSource(certificates)
            .UseTrustBundleSource(bundles);
        return services.BuildServiceProvider();
    }

    public static async Task<HealthReportEntry> CheckAsync(this ServiceProvider services, string name)
    {
        HealthReport report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == name);
        return report.Entries[name];
    }

    /// <summary>A certificate source whose certificate cannot be read, as a broken custom source would behave.</summary>
    public sealed class UnreadableCertificateSource : ICertificateSource
    {
        public WorkloadCertificate Current => throw new InvalidOperationException("the SVID file is empty");

        public IChangeToken GetChangeToken() => NullChangeToken.Singleton;
    }
}
