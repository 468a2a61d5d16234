using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Makes the request being served known to outbound clients that mint or forward its user context or exchange its
/// token; added only when such a client is configured (decided once, when the pipeline is built).
/// </summary>
internal sealed class AmbientRequestStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        if (AmbientRequest.IsNeededBy(app.ApplicationServices.GetRequiredService<IOptions<SecureCommsOptions>>().Value))
        {
            app.Use(async (context, nextMiddleware) =>
            {
                using AmbientRequest.Scope scope = AmbientRequest.Enter(context);
                await nextMiddleware(context).ConfigureAwait(false);
            });
        }

        next(app);
    };
}
