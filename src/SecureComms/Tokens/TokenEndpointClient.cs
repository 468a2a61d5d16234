using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace SecureComms;

/// <summary>
/// Talks to one authorization server over mutual TLS: discovers the token endpoint, runs the client credentials grant
/// (RFC 6749 §4.4) with <c>tls_client_auth</c>, <c>self_signed_tls_client_auth</c> (RFC 8705 §2) or
/// <c>private_key_jwt</c> (RFC 7523), inside a Polly pipeline: retries with exponential back-off and jitter on 5xx,
/// 429 (honouring <c>Retry-After</c>), time-outs and connection failures, a circuit breaker and a per-attempt time-out.
/// OAuth errors are not retried.
/// </summary>
internal sealed class TokenEndpointClient : ITokenRequester
{
    private const string ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(30);

    private readonly string _clientName;
    private readonly AccessTokenOptions _options;
    private readonly HttpMessageInvoker _http;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly MtlsClientHandler? _mtls;
    private readonly Lock _discoveryLock = new();
    private Task<Uri>? _discovery;
    private Uri? _tokenEndpoint;

    public TokenEndpointClient(string clientName, AccessTokenOptions options, HttpMessageHandler transport, TimeProvider timeProvider, ILogger logger)
    {
        _clientName = clientName;
        _options = options;
        _mtls = transport as MtlsClientHandler;
        _http = new HttpMessageInvoker(transport, disposeHandler: true);
        _timeProvider = timeProvider;
        _logger = logger;
        _tokenEndpoint = options.TokenEndpoint;
        _pipeline = BuildPipeline(options, timeProvider);
    }

    /// <summary>How many HTTP requests were sent to the token endpoint (every attempt counts); for tests and diagnostics.</summary>
    internal int TokenRequestsSent => _tokenRequests;

    private int _tokenRequests;

    internal const string TokenExchangeGrantType = "urn:ietf:params:oauth:grant-type:token-exchange";
    internal const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

    /// <summary>The configured token endpoint, or the one discovered so far; null until discovery succeeded.</summary>
    public Uri? KnownTokenEndpoint => Volatile.Read(ref _tokenEndpoint);

    /// <summary>
    /// The token endpoint: configured, or discovered from the authority's metadata once. Concurrent callers share one
    /// discovery (single flight); a failed one is not cached, so the next caller tries again (the provider's back-off
    /// decides when).
    /// </summary>
    public Task<Uri> GetTokenEndpointAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _tokenEndpoint) is { } known)
        {
            return Task.FromResult(known);
        }

        Task<Uri> discovery;
        lock (_discoveryLock)
        {
            discovery = _discovery ??= DiscoverOnceAsync();
        }

        return discovery.WaitAsync(cancellationToken);
    }

    private async Task<Uri> DiscoverOnceAsync()
    {
        await Task.Yield(); // never run the discovery under the caller's lock
        try
        {
            Uri endpoint = await DiscoverAsync(_options.Authority!).ConfigureAwait(false);
            Volatile.Write(ref _tokenEndpoint, endpoint);
            return endpoint;
        }
        finally
        {
            lock (_discoveryLock)
            {
                _discovery = null;
            }
        }
    }

    public async Task<AccessToken> RequestTokenAsync(Uri endpoint, WorkloadCertificate certificate, CancellationToken cancellationToken, string? subjectToken = null)
    {
        List<KeyValuePair<string, string>> form = BuildForm(endpoint, certificate, subjectToken);
        HttpResponseMessage response;
        try
        {
            response = await _pipeline.ExecuteAsync(
                async ct =>
                {
                    Interlocked.Increment(ref _tokenRequests);
                    using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new FormUrlEncodedContent(form) };
                    request.Headers.Accept.ParseAdd("application/json");
                    return await _http.SendAsync(request, ct).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            throw new TokenAcquisitionException("circuit_open", "the token endpoint failed repeatedly; calls are paused by the circuit breaker.", endpoint, ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new TokenAcquisitionException("server_unavailable", "every attempt timed out.", endpoint, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new TokenAcquisitionException("server_unavailable", $"the token endpoint could not be reached ({DescribeConnectionFailure(ex, endpoint)}).", endpoint, ex);
        }

        using (response)
        {
            byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                AccessToken token = TokenResponseParser.ParseSuccess(body, endpoint, certificate, _timeProvider.GetUtcNow(), _options.MaxTokenLifetime, _options.RequireBoundToken);
                CheckGrantedScope(token, endpoint);
                return token;
            }

            if (IsTransient(response))
            {
                throw new TokenAcquisitionException("server_unavailable", $"HTTP {(int)response.StatusCode} after {_options.MaxRetries + 1} attempts.", endpoint);
            }

            throw TokenResponseParser.ParseError(body, (int)response.StatusCode, endpoint);
        }
    }

    private List<KeyValuePair<string, string>> BuildForm(Uri endpoint, WorkloadCertificate certificate, string? subjectToken)
    {
        var form = new List<KeyValuePair<string, string>>(10)
        {
            new("grant_type", subjectToken is null ? "client_credentials" : TokenExchangeGrantType),
            new("client_id", _options.ClientId!), // RFC 8705 §2: client_id is always sent with TLS client authentication
        };
        if (subjectToken is not null)
        {
            // RFC 8693 §2.1: the incoming access token is the subject; this client, authenticated by its SVID, the actor.
            form.Add(new("subject_token", subjectToken));
            form.Add(new("subject_token_type", AccessTokenType));
            form.Add(new("requested_token_type", AccessTokenType));
        }

        if (!string.IsNullOrEmpty(_options.Scope))
        {
            form.Add(new("scope", _options.Scope));
        }

        if (_options.Resource is not null)
        {
            form.Add(new("resource", _options.Resource.OriginalString)); // as configured: Uri.ToString() would add a trailing slash
        }

        if (!string.IsNullOrEmpty(_options.Audience))
        {
            form.Add(new("audience", _options.Audience));
        }

        if (_options.ClientAuthentication == TokenClientAuthentication.PrivateKeyJwt)
        {
            form.Add(new("client_assertion_type", ClientAssertionType));
            form.Add(new("client_assertion", CreateClientAssertion(endpoint, certificate)));
        }

        return form;
    }

    /// <summary>
    /// RFC 7523 §3: iss = sub = client_id, a unique jti and a short lifetime. The audience is the issuer identifier when
    /// it is known (RFC 7523bis, which current servers enforce), else the token endpoint.
    /// </summary>
    private string CreateClientAssertion(Uri endpoint, WorkloadCertificate certificate)
    {
        DateTime now = _timeProvider.GetUtcNow().UtcDateTime;
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.Certificate.GetECDsaPrivateKey()
            ?? certificate.Certificate.GetRSAPrivateKey()
            ?? throw new TokenAcquisitionException("invalid_client", "the workload certificate's key is neither ECDSA nor RSA.", endpoint);
        // The key object is disposed after signing, so IdentityModel must not cache a signature provider for it.
        var noCache = new CryptoProviderFactory { CacheSignatureProviders = false };
        SigningCredentials credentials = key switch
        {
            ECDsa ecdsa => new SigningCredentials(new ECDsaSecurityKey(ecdsa) { KeyId = certificate.Sha256Thumbprint, CryptoProviderFactory = noCache }, SecurityAlgorithms.EcdsaSha256),
            RSA rsa => new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = certificate.Sha256Thumbprint, CryptoProviderFactory = noCache }, SecurityAlgorithms.RsaSsaPssSha256),
            _ => throw new TokenAcquisitionException("invalid_client", "unsupported key type.", endpoint),
        };
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = _options.ClientId,
            Audience = _options.Authority?.OriginalString.TrimEnd('/') ?? endpoint.ToString(),
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddSeconds(60),
            SigningCredentials = credentials,
            Claims = new Dictionary<string, object>
            {
                ["sub"] = _options.ClientId!,
                ["jti"] = Guid.NewGuid().ToString("N"),
            },
            AdditionalHeaderClaims = new Dictionary<string, object>
            {
                ["x5c"] = new[] { Convert.ToBase64String(certificate.Certificate.RawData) },
            },
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>
    /// RFC 6749 §3.3: the server may grant less than requested, and then must say so in <c>scope</c>; without
    /// <c>scope</c> the requested scope was granted (§5.1). Scope tokens are case-sensitive and unordered.
    /// </summary>
    private void CheckGrantedScope(AccessToken token, Uri endpoint)
    {
        if (string.IsNullOrWhiteSpace(_options.Scope) || token.Scope is null)
        {
            return;
        }

        string[] granted = token.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        List<string>? missing = null;
        foreach (string requested in _options.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Array.IndexOf(granted, requested) < 0)
            {
                (missing ??= []).Add(requested);
            }
        }

        if (missing is null)
        {
            return;
        }

        string notGranted = string.Join(' ', missing);
        if (_options.ScopeMismatch == TokenScopeMismatch.Warn)
        {
            TokenLog.ScopeNotGranted(_logger, _clientName, notGranted, token.Scope, endpoint);
            return;
        }

        throw new TokenAcquisitionException(
            "scope_not_granted",
            $"the server granted '{token.Scope}' but not '{notGranted}' of the requested '{_options.Scope}' (RFC 6749 §3.3); register the scope for this client at the authorization server, or set Token:ScopeMismatch to Warn to use the narrower token.",
            endpoint);
    }

    /// <summary>
    /// RFC 8414 §3 metadata, then OpenID Discovery, through the same resilience pipeline as token requests (retries,
    /// circuit breaker, per-attempt time-out). Every failure is <c>discovery_failed</c>, saying why.
    /// </summary>
    private async Task<Uri> DiscoverAsync(Uri authority)
    {
        foreach (string wellKnown in AuthorizationServerMetadata.WellKnownPaths)
        {
            Uri address = AuthorizationServerMetadata.MetadataAddress(authority, wellKnown);
            HttpResponseMessage response;
            try
            {
                response = await _pipeline.ExecuteAsync(
                    async ct =>
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Get, address);
                        request.Headers.Accept.ParseAdd("application/json");
                        return await _http.SendAsync(request, ct).ConfigureAwait(false);
                    },
                    CancellationToken.None).ConfigureAwait(false);
            }
            catch (BrokenCircuitException ex)
            {
                throw new TokenAcquisitionException("discovery_failed", $"the metadata at {address} was not fetched: the authorization server failed repeatedly and calls are paused by the circuit breaker.", authority, ex);
            }
            catch (TimeoutRejectedException ex)
            {
                throw new TokenAcquisitionException("discovery_failed", $"the metadata at {address} could not be fetched: every attempt timed out.", authority, ex);
            }
            catch (HttpRequestException ex)
            {
                throw new TokenAcquisitionException("discovery_failed", $"the metadata at {address} could not be fetched ({DescribeConnectionFailure(ex, address)}).", authority, ex);
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw new TokenAcquisitionException("discovery_failed", $"HTTP {(int)response.StatusCode} from {address}" + (IsTransient(response) ? $" after {_options.MaxRetries + 1} attempts." : "."), authority);
                }

                Uri endpoint = AuthorizationServerMetadata.ParseTokenEndpoint(await response.Content.ReadAsByteArrayAsync(CancellationToken.None).ConfigureAwait(false), authority);
                TokenLog.TokenEndpointDiscovered(_logger, _clientName, endpoint, authority);
                return endpoint;
            }
        }

        throw new TokenAcquisitionException("discovery_failed", "neither RFC 8414 nor OpenID metadata was found.", authority);
    }

    /// <summary>
    /// The failure class, and for a failed TLS handshake the reason the server certificate was refused (the check
    /// that refused it, e.g. <c>RemoteCertificateNameMismatch</c> or a chain status such as <c>PartialChain</c>), which
    /// the platform otherwise leaves in an inner exception or drops when a validation callback said no.
    /// </summary>
    private string DescribeConnectionFailure(HttpRequestException ex, Uri address)
    {
        if (ex.HttpRequestError != HttpRequestError.SecureConnectionError)
        {
            return ex.HttpRequestError.ToString();
        }

        string? reason = _mtls?.LastServerCertificateRejection(address.IdnHost);
        if (reason is null)
        {
            for (Exception? inner = ex.InnerException; inner is not null; inner = inner.InnerException)
            {
                if (inner is System.Security.Authentication.AuthenticationException authentication)
                {
                    reason = authentication.Message;
                }
            }
        }

        return reason is null ? "SecureConnectionError: the TLS handshake failed" : $"SecureConnectionError: {reason}";
    }

    private static bool IsTransient(HttpResponseMessage response) =>
        (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests;

    private static ResiliencePipeline<HttpResponseMessage> BuildPipeline(AccessTokenOptions options, TimeProvider timeProvider)
    {
        PredicateBuilder<HttpResponseMessage> transient = new PredicateBuilder<HttpResponseMessage>()
            .Handle<HttpRequestException>()
            .Handle<TimeoutRejectedException>()
            .HandleResult(IsTransient);
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = transient,
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                DelayGenerator = args =>
                {
                    // RFC 9110 §10.2.3: honour Retry-After on 429/503, within reason.
                    TimeSpan? retryAfter = args.Outcome.Result?.Headers.RetryAfter switch
                    {
                        { Delta: { } delta } => delta,
                        { Date: { } date } => date - timeProvider.GetUtcNow(),
                        _ => null,
                    };
                    return ValueTask.FromResult(retryAfter is { } d && d > TimeSpan.Zero ? (TimeSpan?)(d < MaxRetryAfter ? d : MaxRetryAfter) : null);
                },
            });
        }

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
        {
            ShouldHandle = transient,
            FailureRatio = options.CircuitBreakerFailureRatio,
            SamplingDuration = options.CircuitBreakerSamplingDuration,
            MinimumThroughput = 10,
            BreakDuration = options.CircuitBreakerBreakDuration,
        });
        builder.AddTimeout(options.AttemptTimeout);
        return builder.Build();
    }

    public void Dispose()
    {
        _http.Dispose();
    }
}
