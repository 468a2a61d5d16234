using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Loads the workload certificate (and builds its TLS context) and the trust bundles when the host starts, so an
/// unreadable file stops start-up (fail closed) instead of failing the first call, then starts the certificate telemetry and expiry warnings. Registered before the web server, so it runs before listening.
/// </summary>
internal sealed class SecureCommsStartupCheck(
    IOptions<SecureCommsOptions> options,
    IServiceProvider services) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _ = options.Value; // runs the options validators first, so configuration errors are reported before file errors

        // Builds every reloadable setting's last good snapshot now: it watches for changes from the start, and nothing
        // on a request path builds one after a bad edit.
        foreach (ILastGoodOptions _ in services.GetServices<ILastGoodOptions>())
        {
        }

        if (WorkloadSourceFactory.Resolve<ICertificateSource>(services) is WorkloadApiX509Source workloadApi)
        {
            // The agent may start after the workload: wait for the first SVID, up to WorkloadApi:StartupTimeout.
            await workloadApi.WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);
        }

        // The certificate's TLS context is built now, before listening, as Kestrel builds one for a certificate in its
        // own settings: the process's first chain build loads the system trust store (about 90 ms measured on a 2-core
        // VM), which the first caller's handshake would otherwise wait for.
        _ = WorkloadSourceFactory.Resolve<ICertificateSource>(services).Current.SslContext;
        _ = WorkloadSourceFactory.Resolve<ITrustBundleSource>(services).Current;
        _ = services.GetRequiredService<CertificateTelemetry>(); // expiry gauges and rotation counting from now on
        services.GetRequiredService<CertificateExpiryMonitor>().Start(); // expiry warnings without anyone polling health
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
