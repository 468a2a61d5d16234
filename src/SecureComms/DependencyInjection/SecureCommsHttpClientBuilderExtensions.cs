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

    /// <summary>
    /// Configures the connections of a SecureComms client: <paramref name="configure"/> runs on every
    /// <see cref="SocketsHttpHandler"/> the client builds — one per client certificate, so again after each certificate
    /// rotation — before SecureComms sets TLS on it. Use it for what is the application's to choose, for example a
    /// proxy (<see cref="SocketsHttpHandler.Proxy"/> with <see cref="SocketsHttpHandler.UseProxy"/>; the TLS session
    /// runs end to end through it), <see cref="SocketsHttpHandler.MaxConnectionsPerServer"/>, timeouts, keep-alive or
    /// HTTP/2 settings, or a <see cref="SocketsHttpHandler.ConnectCallback"/>. The HTTP version and its policy are set
    /// per request, on the <c>HttpClient</c> (<c>ConfigureHttpClient</c>).
    /// </summary>
    /// <remarks>
    /// SecureComms owns <see cref="SocketsHttpHandler.SslOptions"/> (the client certificate, the server's SPIFFE ID
    /// check, TLS versions), <see cref="SocketsHttpHandler.PlaintextStreamFilter"/> and
    /// <see cref="SocketsHttpHandler.AllowAutoRedirect"/> (off). A <paramref name="configure"/> that changes any of them
    /// is refused: the request fails with an <see cref="InvalidOperationException"/> naming the setting, and no
    /// connection is opened. Settings SecureComms takes from <see cref="SecureClientOptions"/>
    /// (<see cref="SecureClientOptions.PooledConnectionLifetime"/>, <see cref="SecureClientOptions.ConnectTimeout"/>) are
    /// set before <paramref name="configure"/> runs, which may change them. Calls add up, in order. The client's token
    /// endpoint connection is not configured by it.
    /// </remarks>
    /// <param name="builder">A client made a SecureComms client with <c>AddSecureComms</c>.</param>
    /// <param name="configure">Configures one connection pool's handler.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHttpClientBuilder ConfigureSecureCommsHandler(this IHttpClientBuilder builder, Action<SocketsHttpHandler> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        string name = builder.Name;
        builder.Services.Configure<SecureCommsOptions>(o =>
        {
            SecureClientOptions client = GetOrAddClient(o, name);
            client.ConfigureHandler += configure;
        });
        return builder;
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
            services.GetRequiredService<SecureCommsMetrics>(),
            meterFactory: services.GetService<System.Diagnostics.Metrics.IMeterFactory>());
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
