using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// One long-lived <see cref="CertificateBoundTokenProvider"/> per outbound client, so the token cache survives the
/// handler recycling of <c>IHttpClientFactory</c>. A provider keeps the token settings it was created with (its cache
/// and circuit breaker belong to them); they come from the last good configuration, never a throwing options read.
/// </summary>
internal sealed class TokenProviderRegistry(
    LastGoodOptions<SecureCommsOptions> options,
    ICertificateSource certificates,
    PeerCertificateValidator validator,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory,
    SecureCommsMetrics metrics,
    IServiceProvider services) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Entry?>> _providers = new(StringComparer.Ordinal);

    /// <summary>
    /// The token handler of <paramref name="clientName"/>; a pass-through when the client has no token settings. A token
    /// exchange reads the subject token of the request being served from <paramref name="servedRequest"/>.
    /// </summary>
    public DelegatingHandler CreateHandler(string clientName, IServedRequestAccessor? servedRequest)
    {
        if (GetEntry(clientName) is not { } entry)
        {
            return new PassThroughHandler();
        }

        // The grant type the provider was created with, so that handler and provider always agree.
        return entry.Exchange
            ? new CertificateBoundTokenHandler(entry.Provider, exchange: true, servedRequest)
            : new CertificateBoundTokenHandler(entry.Provider);
    }

    /// <summary>The provider of <paramref name="clientName"/>, or null when it has no token settings.</summary>
    public CertificateBoundTokenProvider? GetProvider(string clientName) => GetEntry(clientName)?.Provider;

    private Entry? GetEntry(string clientName) =>
        _providers.GetOrAdd(clientName, name => new Lazy<Entry?>(() => Create(name))).Value;

    /// <summary>The providers created so far (clients with token settings that have been used), by client name.</summary>
    public IEnumerable<KeyValuePair<string, CertificateBoundTokenProvider>> CreatedProviders
    {
        get
        {
            foreach (KeyValuePair<string, Lazy<Entry?>> pair in _providers)
            {
                if (pair.Value.IsValueCreated && pair.Value.Value is { } entry)
                {
                    yield return new KeyValuePair<string, CertificateBoundTokenProvider>(pair.Key, entry.Provider);
                }
            }
        }
    }

    private Entry? Create(string clientName)
    {
        if (!options.Current.Clients.TryGetValue(clientName, out SecureClientOptions? client) || client.Token is null)
        {
            return null;
        }

        AccessTokenOptions token = client.Token;
        ILogger logger = loggerFactory.CreateLogger("SecureComms.Tokens");
        if (token.Source == AccessTokenSource.JwtSvid)
        {
            // The process's one Workload API connection, created here (not for clients that do not use it).
            WorkloadApiConnection connection = services.GetRequiredService<WorkloadApiConnection>();
            var requester = new JwtSvidTokenRequester(clientName, token, new Uri(connection.Endpoint.Address), () => connection, timeProvider, logger);
            return new Entry(new CertificateBoundTokenProvider(clientName, token, certificates, requester, timeProvider, logger, metrics), Exchange: false);
        }

        SpiffeIdAuthorizer? tokenServer = token.ExpectedServer is null ? null : SpiffeIdAuthorizer.Parse(token.ExpectedServer);
        var transport = new MtlsClientHandler(
            clientName + " (token endpoint)",
            new SecureClientOptions { ConnectTimeout = token.AttemptTimeout, RotationDrainTime = client.RotationDrainTime },
            tokenServer,
            certificates,
            validator,
            timeProvider,
            loggerFactory.CreateLogger("SecureComms.Client"),
            metrics,
            token.ServerCaBundlePath is null ? null : ServerCaBundle.Load($"{SecureCommsOptions.SectionName}:Clients:{clientName}:Token:ServerCaBundlePath", token.ServerCaBundlePath));
        var endpoint = new TokenEndpointClient(clientName, token, transport, timeProvider, logger);
        return new Entry(new CertificateBoundTokenProvider(clientName, token, certificates, endpoint, timeProvider, logger, metrics), token.GrantType == TokenGrantType.TokenExchange);
    }

    public void Dispose()
    {
        foreach (Lazy<Entry?> entry in _providers.Values)
        {
            if (entry.IsValueCreated)
            {
                entry.Value?.Provider.Dispose();
            }
        }
    }

    private sealed record Entry(CertificateBoundTokenProvider Provider, bool Exchange);
}
