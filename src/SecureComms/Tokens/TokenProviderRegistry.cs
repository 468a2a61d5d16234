using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// One long-lived <see cref="CertificateBoundTokenProvider"/> per outbound client, so the token cache survives the
/// handler recycling of <c>IHttpClientFactory</c>.
/// </summary>
internal sealed class TokenProviderRegistry(
    IOptionsMonitor<SecureCommsOptions> options,
    ICertificateSource certificates,
    PeerCertificateValidator validator,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory,
    SecureCommsMetrics metrics) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<CertificateBoundTokenProvider?>> _providers = new(StringComparer.Ordinal);

    /// <summary>The token handler of <paramref name="clientName"/>; a pass-through when the client has no token settings.</summary>
    public DelegatingHandler CreateHandler(string clientName)
    {
        CertificateBoundTokenProvider? provider = GetProvider(clientName);
        if (provider is null)
        {
            return new PassThroughHandler();
        }

        return options.CurrentValue.Clients[clientName].Token!.GrantType == TokenGrantType.TokenExchange
            ? new CertificateBoundTokenHandler(provider, exchange: true)
            : new CertificateBoundTokenHandler(provider);
    }

    /// <summary>The provider of <paramref name="clientName"/>, or null when it has no token settings.</summary>
    public CertificateBoundTokenProvider? GetProvider(string clientName) =>
        _providers.GetOrAdd(clientName, name => new Lazy<CertificateBoundTokenProvider?>(() => Create(name))).Value;

    /// <summary>The providers created so far (clients with token settings that have been used), by client name.</summary>
    public IEnumerable<KeyValuePair<string, CertificateBoundTokenProvider>> CreatedProviders
    {
        get
        {
            foreach (KeyValuePair<string, Lazy<CertificateBoundTokenProvider?>> pair in _providers)
            {
                if (pair.Value.IsValueCreated && pair.Value.Value is { } provider)
                {
                    yield return new KeyValuePair<string, CertificateBoundTokenProvider>(pair.Key, provider);
                }
            }
        }
    }

    private CertificateBoundTokenProvider? Create(string clientName)
    {
        if (!options.CurrentValue.Clients.TryGetValue(clientName, out SecureClientOptions? client) || client.Token is null)
        {
            return null;
        }

        AccessTokenOptions token = client.Token;
        ILogger logger = loggerFactory.CreateLogger("SecureComms.Tokens");
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
        return new CertificateBoundTokenProvider(clientName, token, certificates, endpoint, timeProvider, logger, metrics);
    }

    public void Dispose()
    {
        foreach (Lazy<CertificateBoundTokenProvider?> provider in _providers.Values)
        {
            if (provider.IsValueCreated)
            {
                provider.Value?.Dispose();
            }
        }
    }
}
