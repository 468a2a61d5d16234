using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// With <see cref="SecureCommsTokenValidationOptions.AcceptJwtSvids"/>, opens the JWT bundle stream at start-up, so
/// that a missing Workload API address fails start-up (naming the key) and the first JWT-SVID finds its keys ready.
/// Does nothing otherwise.
/// </summary>
internal sealed class JwtSvidBundleStartup(IOptions<SecureCommsTokenValidationOptions> options, IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.AcceptJwtSvids)
        {
            services.GetRequiredService<JwtSvidValidator>(); // starts the bundle stream
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
