using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms.Testing;

/// <summary>
/// A small OAuth 2.0 authorization server for tests, the demo and local development — <b>not a production
/// authorization server</b>: no persistence, no consent, no hardening beyond what the tests exercise. It issues
/// RFC 9068 JWT access tokens bound to the client's TLS certificate (RFC 8705 §3, <c>cnf.x5t#S256</c>) through the
/// client credentials grant, authenticating clients with <c>tls_client_auth</c>, <c>self_signed_tls_client_auth</c>
/// (RFC 8705 §2) or <c>private_key_jwt</c> (RFC 7523), exchanges a user's access token for one restricted to the next
/// service and bound to the exchanging client (RFC 8693 token exchange, <c>act</c> naming the client), and publishes
/// RFC 8414 metadata and a JWKS. For clients registered with <see cref="DevelopmentClient.OpaqueAccessTokens"/> it
/// issues opaque tokens instead, and answers RFC 7662 introspection for them to any registered client that
/// authenticates as at the token endpoint (<c>tls_client_auth</c> for a resource server).
/// </summary>
public sealed class DevelopmentTokenServer : IAsyncDisposable
{
    private const string TokenPath = "/connect/token";
    private const string MtlsTokenPath = "/mtls/token";
    private const string JwksPath = "/jwks";
    private const string IntrospectionPath = "/connect/introspect";
    private const string MtlsIntrospectionPath = "/mtls/introspect";
    private const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    private const string TokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
    private const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";
    private const string JwtTokenType = "urn:ietf:params:oauth:token-type:jwt";
    private static readonly string[] GrantTypes = ["client_credentials", TokenExchangeGrant];
    private static readonly HashSet<string> ProtocolClaims = new(StringComparer.Ordinal) { "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cnf", "client_id", "scope", "act" };
    private static readonly string[] AuthMethods = ["tls_client_auth", "self_signed_tls_client_auth", "private_key_jwt"];
    private static readonly string[] SigningAlgorithms = ["ES256", "PS256", "RS256"];

    private readonly DevelopmentTokenServerOptions _options;
    private readonly PeerCertificateValidator _clientValidator;
    private readonly ILogger _logger;
    private readonly ConcurrentQueue<(HttpStatusCode Status, TimeSpan? RetryAfter)> _failures = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seenAssertionIds = new(StringComparer.Ordinal);
    private readonly Lock _keysLock = new();
    private readonly List<SigningKey> _keys = [];
    private readonly List<SigningKey> _retiredKeys = [];
    private readonly ConcurrentDictionary<string, OpaqueToken> _opaqueTokens = new(StringComparer.Ordinal);
    private WebApplication? _app;
    private WorkloadCertificate _serverCertificate;
    private SslStreamCertificateContext? _tlsCertificate;
    private int _port;
    private int _introspectionRequests;
    private volatile bool _introspectionAvailable = true;
    private int _tokenRequests;
    private int _jwksRequests;

    private DevelopmentTokenServer(DevelopmentTokenServerOptions options)
    {
        _options = options;
        _serverCertificate = options.ServerCertificate;
        _tlsCertificate = options.TlsCertificate;
        _port = options.Port;
        _clientValidator = new PeerCertificateValidator(new InMemoryTrustBundleSource(options.ClientTrust), options.TimeProvider);
        _logger = options.LoggerFactory?.CreateLogger<DevelopmentTokenServer>() ?? NullLogger<DevelopmentTokenServer>.Instance;
        RotateSigningKey();
    }

    /// <summary>The issuer, <c>https://127.0.0.1:{port}</c>.</summary>
    public Uri Issuer { get; private set; } = null!;

    /// <summary>The token endpoint, <c>{Issuer}/connect/token</c>; metadata names <c>{Issuer}/mtls/token</c> as its mTLS alias.</summary>
    public Uri TokenEndpoint => new(Issuer, TokenPath);

    /// <summary>The JWKS with every published signing key.</summary>
    public Uri JwksUri => new(Issuer, JwksPath);

    /// <summary>
    /// The RFC 7662 introspection endpoint, <c>{Issuer}/connect/introspect</c>; metadata names
    /// <c>{Issuer}/mtls/introspect</c> as its mTLS alias (RFC 8705 §5).
    /// </summary>
    public Uri IntrospectionEndpoint => new(Issuer, IntrospectionPath);

    /// <summary>How many requests reached an introspection endpoint, failed ones included.</summary>
    public int IntrospectionRequestCount => Volatile.Read(ref _introspectionRequests);

    /// <summary>Whether the introspection endpoints answer; false makes them answer 503, as a server that is down. Default true.</summary>
    public bool IntrospectionAvailable
    {
        get => _introspectionAvailable;
        set => _introspectionAvailable = value;
    }

    /// <summary>
    /// Awaited before each introspection request is answered: lets a test hold the server, e.g. to see that concurrent
    /// requests for one token share one call, or that a slow server times out. Default none.
    /// </summary>
    public Func<CancellationToken, Task>? BeforeIntrospectionResponse { get; set; }

    /// <summary>How many requests reached a token endpoint, failed ones included.</summary>
    public int TokenRequestCount => Volatile.Read(ref _tokenRequests);

    /// <summary>How many times the JWKS was fetched.</summary>
    public int JwksRequestCount => Volatile.Read(ref _jwksRequests);

    /// <summary>Key ids in the JWKS, oldest first; the last one signs new tokens.</summary>
    public IReadOnlyList<string> PublishedKeyIds
    {
        get
        {
            lock (_keysLock)
            {
                return [.. _keys.Select(k => k.KeyId)];
            }
        }
    }

    /// <summary>Starts the server on 127.0.0.1.</summary>
    public static async Task<DevelopmentTokenServer> StartAsync(DevelopmentTokenServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var server = new DevelopmentTokenServer(options);
        await server.StartCoreAsync(cancellationToken).ConfigureAwait(false);
        return server;
    }

    /// <summary>The next <paramref name="count"/> token requests are answered with <paramref name="status"/> (for resilience tests).</summary>
    public void EnqueueFailures(int count, HttpStatusCode status, TimeSpan? retryAfter = null)
    {
        for (int i = 0; i < count; i++)
        {
            _failures.Enqueue((status, retryAfter));
        }
    }

    /// <summary>Starts signing with a new key; earlier keys stay in the JWKS so outstanding tokens still verify.</summary>
    public void RotateSigningKey() => RotateSigningKey(retirePreviousKeys: false);

    /// <summary>
    /// Starts signing with a new key (a new <c>kid</c>, published in the JWKS from now on). With
    /// <paramref name="retirePreviousKeys"/> the earlier keys leave the JWKS at once, as after a key compromise: tokens
    /// they signed stop verifying wherever the JWKS is read again.
    /// </summary>
    public void RotateSigningKey(bool retirePreviousKeys)
    {
        var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string kid = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(9));
        lock (_keysLock)
        {
            if (retirePreviousKeys)
            {
                _retiredKeys.AddRange(_keys); // disposed with the server: a token being signed may still hold one
                _keys.Clear();
            }

            _keys.Add(new SigningKey(kid, ecdsa, new ECDsaSecurityKey(ecdsa) { KeyId = kid }));
        }
    }

    /// <summary>
    /// Stops listening, as an authorization server going down: connections are refused until
    /// <see cref="RestartAsync"/>. Its signing keys, clients and counts are kept.
    /// </summary>
    public async Task StopAsync()
    {
        WebApplication? app = Interlocked.Exchange(ref _app, null);
        if (app is not null)
        {
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts listening again on the same port after <see cref="StopAsync"/>, with the same signing keys (tokens issued
    /// before still verify), as an authorization server restarted. With <paramref name="serverCertificate"/> it
    /// presents that certificate from now on (one renewed while it was down, say from a new CA).
    /// </summary>
    public async Task RestartAsync(WorkloadCertificate? serverCertificate = null, CancellationToken cancellationToken = default)
    {
        await StopAsync().ConfigureAwait(false);
        if (serverCertificate is not null)
        {
            _serverCertificate = serverCertificate;
            _tlsCertificate = null;
        }

        await StartCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);

        lock (_keysLock)
        {
            foreach (SigningKey key in _keys.Concat(_retiredKeys))
            {
                key.Ecdsa.Dispose();
            }
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        // Configured in code: appsettings files are not watched for changes (the watcher would follow every directory
        // under the working directory).
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();

        // One context for every connection (offline: no AIA fetch), as a SecureComms server builds it.
        SslStreamCertificateContext serverContext = _tlsCertificate
            ?? SslStreamCertificateContext.Create(_serverCertificate.Certificate, _serverCertificate.Intermediates, offline: true);
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, _port, listen => listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = serverContext,
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],

                // RFC 8705 §2.2: a self-signed client certificate is matched against the registration at the token
                // endpoint, so the handshake accepts any presented certificate and the endpoint decides per client.
                RemoteCertificateValidationCallback = static (_, certificate, _, _) => certificate is not null,
            }),
        })));
        _app = builder.Build();
        _app.MapGet("/.well-known/oauth-authorization-server", Metadata);
        _app.MapGet("/.well-known/openid-configuration", Metadata);
        _app.MapGet(JwksPath, Jwks);
        _app.MapPost(TokenPath, (Delegate)HandleTokenRequestAsync);
        _app.MapPost(MtlsTokenPath, (Delegate)HandleTokenRequestAsync);
        _app.MapPost(IntrospectionPath, (Delegate)HandleIntrospectionRequestAsync);
        _app.MapPost(MtlsIntrospectionPath, (Delegate)HandleIntrospectionRequestAsync);
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        Issuer = new UriBuilder(_app.Urls.First()) { Host = _options.HostName }.Uri;
        _port = Issuer.Port; // a restart listens where clients already look
        TokenServerLog.Started(_logger, IssuerName);
    }

    private string IssuerName => Issuer.GetLeftPart(UriPartial.Authority);

    private IResult Metadata() => Results.Json(new Dictionary<string, object>
    {
        ["issuer"] = IssuerName,
        ["token_endpoint"] = new Uri(Issuer, TokenPath).ToString(),
        ["jwks_uri"] = JwksUri.ToString(),
        ["grant_types_supported"] = GrantTypes,
        ["token_endpoint_auth_methods_supported"] = AuthMethods,
        ["token_endpoint_auth_signing_alg_values_supported"] = SigningAlgorithms,
        ["tls_client_certificate_bound_access_tokens"] = true,
        ["introspection_endpoint"] = IntrospectionEndpoint.ToString(),
        ["introspection_endpoint_auth_methods_supported"] = AuthMethods,
        ["mtls_endpoint_aliases"] = new Dictionary<string, string>
        {
            ["token_endpoint"] = new Uri(Issuer, MtlsTokenPath).ToString(),
            ["introspection_endpoint"] = new Uri(Issuer, MtlsIntrospectionPath).ToString(),
        },
    });

    private IResult Jwks()
    {
        Interlocked.Increment(ref _jwksRequests);
        var keys = new List<Dictionary<string, string>>();
        lock (_keysLock)
        {
            foreach (SigningKey key in _keys)
            {
                ECParameters p = key.Ecdsa.ExportParameters(includePrivateParameters: false);
                keys.Add(new Dictionary<string, string>
                {
                    ["kty"] = "EC",
                    ["crv"] = "P-256",
                    ["x"] = Base64Url.EncodeToString(p.Q.X!),
                    ["y"] = Base64Url.EncodeToString(p.Q.Y!),
                    ["kid"] = key.KeyId,
                    ["use"] = "sig",
                    ["alg"] = "ES256",
                });
            }
        }

        return Results.Json(new { keys });
    }

    private async Task<IResult> HandleTokenRequestAsync(HttpContext context)
    {
        Interlocked.Increment(ref _tokenRequests);
        context.Response.Headers.CacheControl = "no-store";
        if (_failures.TryDequeue(out var failure))
        {
            if (failure.RetryAfter is { } retryAfter)
            {
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Results.StatusCode((int)failure.Status);
        }

        if (_options.BeforeTokenResponse is { } gate)
        {
            await gate(context.RequestAborted).ConfigureAwait(false);
        }

        if (!context.Request.HasFormContentType)
        {
            return Error("invalid_request", "the request must be application/x-www-form-urlencoded.");
        }

        IFormCollection form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        string clientId = form["client_id"].ToString();
        string grantType = form["grant_type"].ToString();
        if (grantType is not "client_credentials" and not TokenExchangeGrant)
        {
            return Error("unsupported_grant_type", "only client_credentials and token exchange are supported.", clientId);
        }

        if (clientId.Length == 0)
        {
            return Error("invalid_request", "client_id is required.");
        }

        DevelopmentClient? client = _options.Clients.FirstOrDefault(c => c.ClientId == clientId);
        X509Certificate2? presented = context.Connection.ClientCertificate;
        if (client is null)
        {
            return Error("invalid_client", "unknown client.", clientId, StatusCodes.Status401Unauthorized);
        }

        string? authenticationError = await AuthenticateAsync(client, presented, form, context.Request).ConfigureAwait(false);
        if (authenticationError is not null)
        {
            return Error("invalid_client", authenticationError, clientId, StatusCodes.Status401Unauthorized);
        }

        string[] requestedScopes = form["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (client.DropsUnknownScopes)
        {
            requestedScopes = [.. requestedScopes.Where(client.AllowedScopes.Contains)]; // RFC 6749 §3.3: granted less, said in scope
        }

        foreach (string scope in requestedScopes)
        {
            if (!client.AllowedScopes.Contains(scope))
            {
                return Error("invalid_scope", $"scope '{scope}' is not allowed for this client.", clientId);
            }
        }

        string? audience = form["resource"].FirstOrDefault() ?? form["audience"].FirstOrDefault() ?? client.AllowedResources.FirstOrDefault();
        if (audience is null || !client.AllowedResources.Contains(audience))
        {
            return Error("invalid_target", "the requested resource is not allowed for this client.", clientId);
        }

        string thumbprint = CertificateBinding.Thumbprint(presented!);
        Dictionary<string, object>? exchanged = null;
        if (grantType == TokenExchangeGrant)
        {
            (exchanged, string? exchangeError) = await ValidateSubjectTokenAsync(client, form).ConfigureAwait(false);
            if (exchanged is null)
            {
                return Error("invalid_grant", exchangeError!, clientId);
            }
        }

        string token = client.OpaqueAccessTokens && exchanged is null
            ? IssueOpaqueToken(clientId, audience, requestedScopes, thumbprint, user: null)
            : IssueToken(clientId, audience, requestedScopes, thumbprint, exchanged);
        TokenServerLog.Issued(_logger, clientId, audience, thumbprint);
        var response = new Dictionary<string, object>
        {
            ["access_token"] = token,
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)_options.TokenLifetime.TotalSeconds,
        };
        if (exchanged is not null)
        {
            response["issued_token_type"] = AccessTokenType; // RFC 8693 §2.2.1
        }

        if (requestedScopes.Length > 0 || client.DropsUnknownScopes)
        {
            response["scope"] = string.Join(' ', requestedScopes);
        }

        return Results.Json(response);
    }

    private async Task<string?> AuthenticateAsync(DevelopmentClient client, X509Certificate2? presented, IFormCollection form, HttpRequest request)
    {
        if (presented is null)
        {
            return "no client certificate was presented.";
        }

        switch (client.Authentication)
        {
            case TokenClientAuthentication.TlsClientAuth:
                SvidValidationResult result = _clientValidator.Validate(presented, null, PeerSide.Client);
                if (!result.IsValid)
                {
                    return $"the client certificate is not a trusted SVID ({result.Failure}).";
                }

                return result.SpiffeId == client.TlsClientAuthSanUri ? null : "the client certificate carries another SPIFFE ID than the registered one.";

            case TokenClientAuthentication.SelfSignedTlsClientAuth:
                return client.RegisteredCertificate is { } registered
                    && CertificateBinding.Thumbprint(registered) == CertificateBinding.Thumbprint(presented)
                    ? null
                    : "the client certificate is not the registered one.";

            case TokenClientAuthentication.PrivateKeyJwt:
                return await ValidateAssertionAsync(client, form, request).ConfigureAwait(false);

            default:
                return "unsupported authentication method.";
        }
    }

    /// <summary>RFC 7523 §3: signed by the registered key, iss = sub = client_id, aud = this server, unexpired, jti unused.</summary>
    private async Task<string?> ValidateAssertionAsync(DevelopmentClient client, IFormCollection form, HttpRequest request)
    {
        if (form["client_assertion_type"] != AssertionType || client.RegisteredCertificate is null)
        {
            return "a private_key_jwt client assertion is required.";
        }

        string endpoint = new Uri(Issuer, request.Path.Value).ToString();
        using ECDsa? ecdsa = client.RegisteredCertificate.GetECDsaPublicKey();
        using RSA? rsa = ecdsa is null ? client.RegisteredCertificate.GetRSAPublicKey() : null;
        SecurityKey key = ecdsa is not null ? new ECDsaSecurityKey(ecdsa) : new RsaSecurityKey(rsa!);

        // The key object lives for this request only: IdentityModel must not cache a provider that outlives it.
        key.CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false };
        DateTime now = _options.TimeProvider.GetUtcNow().UtcDateTime;
        TokenValidationResult validation = await new JsonWebTokenHandler().ValidateTokenAsync(form["client_assertion"].ToString(), new TokenValidationParameters
        {
            ValidIssuer = client.ClientId,
            ValidAudiences = [endpoint, IssuerName, new Uri(Issuer, TokenPath).ToString()],
            IssuerSigningKey = key,
            LifetimeValidator = (notBefore, expires, _, _) => expires is { } e && e > now && (notBefore is null || notBefore <= now.AddMinutes(1)),
        }).ConfigureAwait(false);
        if (!validation.IsValid)
        {
            return $"the client assertion is invalid ({validation.Exception?.GetType().Name}).";
        }

        var jwt = (JsonWebToken)validation.SecurityToken;
        if (jwt.Subject != client.ClientId || string.IsNullOrEmpty(jwt.Id))
        {
            return "the client assertion's sub must be the client_id and it must have a jti.";
        }

        return _seenAssertionIds.TryAdd(jwt.Id, jwt.ValidTo) ? null : "the client assertion was already used.";
    }

    /// <summary>
    /// Issues an access token for an end user, as this server would once the user signed in at the edge (there is no
    /// login here: development and tests only). <paramref name="claims"/> are added as they are (e.g. <c>role</c>).
    /// </summary>
    public string IssueUserToken(string subject, string audience, IDictionary<string, object>? claims = null, X509Certificate2? boundTo = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(subject);
        ArgumentException.ThrowIfNullOrEmpty(audience);
        var user = new Dictionary<string, object>(claims ?? new Dictionary<string, object>(), StringComparer.Ordinal) { ["sub"] = subject };
        return IssueToken("edge-login", audience, [], boundTo is null ? null : CertificateBinding.Thumbprint(boundTo), user);
    }

    /// <summary>
    /// RFC 8693 §2.1: the subject token must be an access token this server issued, unexpired, and addressed to an API
    /// the exchanging client serves (<see cref="DevelopmentClient.ExchangeableAudiences"/>). Returns the claims the new
    /// token keeps: the user's <c>sub</c> and claims, and <c>act</c> naming the client, with the subject token's own
    /// actor nested in it (§4.1).
    /// </summary>
    private async Task<(Dictionary<string, object>? Claims, string? Error)> ValidateSubjectTokenAsync(DevelopmentClient client, IFormCollection form)
    {
        if (client.ExchangeableAudiences.Count == 0)
        {
            return (null, "this client may not exchange tokens.");
        }

        if (form["subject_token_type"].ToString() is not AccessTokenType and not JwtTokenType || string.IsNullOrEmpty(form["subject_token"]))
        {
            return (null, "subject_token and a subject_token_type of access_token or jwt are required.");
        }

        SecurityKey[] keys;
        lock (_keysLock)
        {
            keys = [.. _keys.Select(k => k.SecurityKey)];
        }

        DateTime now = _options.TimeProvider.GetUtcNow().UtcDateTime;
        TokenValidationResult validation = await new JsonWebTokenHandler().ValidateTokenAsync(form["subject_token"].ToString(), new TokenValidationParameters
        {
            ValidIssuer = IssuerName,
            ValidAudiences = client.ExchangeableAudiences,
            IssuerSigningKeys = keys,
            ValidTypes = ["at+jwt"],
            LifetimeValidator = (notBefore, expires, _, _) => expires is { } e && e > now && (notBefore is null || notBefore <= now.AddMinutes(1)),
        }).ConfigureAwait(false);
        if (!validation.IsValid)
        {
            return (null, $"the subject token is invalid ({validation.Exception?.GetType().Name}).");
        }

        var subject = (JsonWebToken)validation.SecurityToken;
        var claims = new Dictionary<string, object>(StringComparer.Ordinal) { ["sub"] = subject.Subject };
        foreach (System.Security.Claims.Claim claim in subject.Claims)
        {
            if (!ProtocolClaims.Contains(claim.Type))
            {
                claims[claim.Type] = claims.TryGetValue(claim.Type, out object? existing)
                    ? (existing is string[] many ? [.. many, claim.Value] : new[] { (string)existing, claim.Value })
                    : claim.Value;
            }
        }

        var actor = new Dictionary<string, object>(StringComparer.Ordinal) { ["sub"] = client.ClientId };
        if (subject.TryGetPayloadValue("act", out System.Text.Json.JsonElement prior))
        {
            actor["act"] = prior;
        }

        claims["act"] = actor;
        return (claims, null);
    }

    private string IssueToken(string clientId, string audience, string[] scopes, string? thumbprint, Dictionary<string, object>? user = null)
    {
        DateTime now = _options.TimeProvider.GetUtcNow().UtcDateTime;
        SigningKey signer;
        lock (_keysLock)
        {
            signer = _keys[^1];
        }

        var claims = new Dictionary<string, object>(user ?? [], StringComparer.Ordinal)
        {
            ["client_id"] = clientId,
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        claims.TryAdd("sub", clientId); // a client-credentials token's subject is the client itself (RFC 9068 §2.2)
        if (thumbprint is not null)
        {
            claims["cnf"] = new Dictionary<string, object> { ["x5t#S256"] = thumbprint }; // RFC 8705 §3.1
        }

        if (scopes.Length > 0)
        {
            claims["scope"] = string.Join(' ', scopes);
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = IssuerName,
            Audience = audience,
            IssuedAt = _options.IncludeIssuedAt ? now : null,
            NotBefore = _options.IncludeNotBefore ? now : null,
            Expires = now + _options.TokenLifetime,
            TokenType = "at+jwt", // RFC 9068 §2.1
            Claims = claims,
            SigningCredentials = new SigningCredentials(signer.SecurityKey, SecurityAlgorithms.EcdsaSha256),
        });
    }

    /// <summary>
    /// Issues an opaque access token, as the token endpoint does for a client with
    /// <see cref="DevelopmentClient.OpaqueAccessTokens"/>: only introspection reveals what it grants. Without
    /// <paramref name="boundTo"/> the token is not certificate-bound (no <c>cnf</c>), for tests of resource servers that
    /// require binding.
    /// </summary>
    public string IssueOpaqueToken(string clientId, string audience, IEnumerable<string>? scopes = null, X509Certificate2? boundTo = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(clientId);
        ArgumentException.ThrowIfNullOrEmpty(audience);
        return IssueOpaqueToken(clientId, audience, [.. scopes ?? []], boundTo is null ? null : CertificateBinding.Thumbprint(boundTo), user: null);
    }

    /// <summary>Revokes an opaque token: introspection answers <c>{"active":false}</c> for it from now on (RFC 7009's effect).</summary>
    public void RevokeOpaqueToken(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_opaqueTokens.TryGetValue(token, out OpaqueToken? issued))
        {
            _opaqueTokens[token] = issued with { Revoked = true };
        }
    }

    private string IssueOpaqueToken(string clientId, string audience, string[] scopes, string? thumbprint, Dictionary<string, object>? user)
    {
        DateTimeOffset now = _options.TimeProvider.GetUtcNow();
        string token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var claims = new Dictionary<string, object>(user ?? [], StringComparer.Ordinal)
        {
            ["iss"] = IssuerName,
            ["client_id"] = clientId,
            ["aud"] = audience,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + _options.TokenLifetime).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        claims.TryAdd("sub", clientId);
        if (scopes.Length > 0)
        {
            claims["scope"] = string.Join(' ', scopes);
        }

        if (thumbprint is not null)
        {
            claims["cnf"] = new Dictionary<string, object> { ["x5t#S256"] = thumbprint }; // RFC 8705 §3.2
        }

        _opaqueTokens[token] = new OpaqueToken(claims, now + _options.TokenLifetime, Revoked: false);
        return token;
    }

    /// <summary>
    /// RFC 7662 §2: a registered client, authenticated as at the token endpoint, asks about a token; the answer is
    /// <c>{"active":false}</c> for anything this server did not issue as an opaque token, or revoked, or expired.
    /// </summary>
    private async Task<IResult> HandleIntrospectionRequestAsync(HttpContext context)
    {
        Interlocked.Increment(ref _introspectionRequests);
        context.Response.Headers.CacheControl = "no-store";
        if (BeforeIntrospectionResponse is { } gate)
        {
            await gate(context.RequestAborted).ConfigureAwait(false);
        }

        if (!IntrospectionAvailable)
        {
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        if (!context.Request.HasFormContentType)
        {
            return Error("invalid_request", "the request must be application/x-www-form-urlencoded.");
        }

        IFormCollection form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        string clientId = form["client_id"].ToString();
        DevelopmentClient? client = _options.Clients.FirstOrDefault(c => c.ClientId == clientId);
        if (client is null || await AuthenticateAsync(client, context.Connection.ClientCertificate, form, context.Request).ConfigureAwait(false) is not null)
        {
            return Error("invalid_client", "the introspecting client is unknown or did not authenticate.", clientId, StatusCodes.Status401Unauthorized);
        }

        string token = form["token"].ToString();
        if (!_opaqueTokens.TryGetValue(token, out OpaqueToken? issued) || issued.Revoked || issued.ExpiresAt <= _options.TimeProvider.GetUtcNow())
        {
            return Results.Json(new Dictionary<string, object> { ["active"] = false });
        }

        return Results.Json(new Dictionary<string, object>(issued.Claims, StringComparer.Ordinal) { ["active"] = true, ["token_type"] = "Bearer" });
    }

    private IResult Error(string error, string description, string? clientId = null, int status = StatusCodes.Status400BadRequest)
    {
        TokenServerLog.Refused(_logger, clientId ?? "(none)", error, description);
        return Results.Json(new Dictionary<string, string> { ["error"] = error, ["error_description"] = description }, statusCode: status);
    }

    private sealed record OpaqueToken(Dictionary<string, object> Claims, DateTimeOffset ExpiresAt, bool Revoked);

    private sealed record SigningKey(string KeyId, ECDsa Ecdsa, ECDsaSecurityKey SecurityKey);
}
