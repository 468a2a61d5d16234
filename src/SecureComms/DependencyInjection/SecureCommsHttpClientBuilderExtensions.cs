using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Turns an <c>IHttpClientFactory</c> client into a SecureComms mutual-TLS client.</summary>
public static class SecureCommsHttpClientBuilderExtensions
{
    /// <summary>
    /// Makes the client present the workload SVID and accept only a server whose SVID is trusted and matches
    /// <paramref name="expectedServer"/> (a SPIFFE ID pattern, see <see cref="SecureClientOptions.ExpectedServer"/>);
    /// when null, <c>SecureComms:Clients:{name}:ExpectedServer</c> from configuration is used.
    /// </summary>
    public static IHttpClientBuilder AddSecureComms(this IHttpClientBuilder builder, string? expectedServer = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (expectedServer is not null)
        {
            builder.Services.Configure<SecureCommsOptions>(o => GetOrAddClient(o, builder.Name).ExpectedServer = expectedServer);
        }

        return Register(builder);
    }

    /// <summary>Makes the client a mutual-TLS client that accepts only servers authorized by <paramref name="expectedServer"/>.</summary>
    public static IHttpClientBuilder AddSecureComms(this IHttpClientBuilder builder, SpiffeIdAuthorizer expectedServer)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(expectedServer);
        builder.Services.Configure<SecureCommsOptions>(o => GetOrAddClient(o, builder.Name).ExpectedServerAuthorizer = expectedServer);
        return Register(builder);
    }

    private static IHttpClientBuilder Register(IHttpClientBuilder builder)
    {
        string name = builder.Name;
        builder.Services.AddSecureCommsCore();
        builder.Services.Configure<SecureCommsOptions>(o => GetOrAddClient(o, name));
        builder.ConfigurePrimaryHttpMessageHandler(sp => CreateHandler(sp, name));
        builder.AddHttpMessageHandler(sp => sp.GetRequiredService<TokenProviderRegistry>().CreateHandler(name, sp.GetService<IServedRequestAccessor>()));
        builder.AddHttpMessageHandler(sp => UserContextHandler.Create(sp, name));
        builder.ConfigureHttpClient((sp, client) =>
        {
            // The last good settings: a bad edit of the configuration never makes CreateClient throw.
            SecureClientOptions options = sp.GetRequiredService<LastGoodOptions<SecureCommsOptions>>().Current.Clients[name];
            if (options.BaseAddress is not null && client.BaseAddress is null)
            {
                client.BaseAddress = options.BaseAddress;
            }
        });
        return builder;
    }

    private static MtlsClientHandler CreateHandler(IServiceProvider services, string name)
    {
        SecureClientOptions options = services.GetRequiredService<LastGoodOptions<SecureCommsOptions>>().Current.Clients[name];
        SpiffeIdAuthorizer expectedServer = options.ExpectedServerAuthorizer
            ?? SpiffeIdAuthorizer.Parse(options.ExpectedServer ?? throw new InvalidOperationException($"SecureComms:Clients:{name}:ExpectedServer is required."));
        return new MtlsClientHandler(
            name,
            options,
            expectedServer,
            services.GetRequiredService<ICertificateSource>(),
            services.GetRequiredService<PeerCertificateValidator>(),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger("SecureComms.Client"),
            services.GetRequiredService<SecureCommsMetrics>());
    }

    private static SecureClientOptions GetOrAddClient(SecureCommsOptions options, string name)
    {
        if (!options.Clients.TryGetValue(name, out SecureClientOptions? client))
        {
            client = new SecureClientOptions();
            options.Clients[name] = client;
        }

        return client;
    }
}
