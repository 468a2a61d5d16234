using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// Authenticates the calling workload from the client certificate of the TLS connection and, when token validation
/// is configured, its access token: signature, claims and the binding of the token to that same certificate
/// (RFC 8705 §3). The certificate was validated as an X.509-SVID during the handshake; this handler looks that verdict
/// up (no chain build per request) and re-checks expiry, since a connection can outlive its certificate. A certificate
/// forwarded by a trusted proxy takes the place of the connection's (<see cref="ForwardedCertificateAuthenticator"/>).
/// </summary>
/// <remarks>
/// ASP.NET Core creates a handler per request. This one implements <see cref="IAuthenticationHandler"/> directly rather
/// than deriving from <see cref="AuthenticationHandler{TOptions}"/>, whose per-request set-up (a logger from the logger
/// factory, the scheme's options, an events object) it does not use: its dependencies are one reference built once.
/// </remarks>
internal sealed class SecureCommsAuthenticationHandler(SecureCommsAuthenticationServices services) : IAuthenticationHandler
{
    /// <summary>The reason an access token was refused (an <see cref="AccessTokenFailure"/> code).</summary>
    internal const string FailureItem = "SecureComms.AuthenticationFailure";

    /// <summary>The reason the caller's certificate was refused at request time (an <see cref="SvidValidationFailure"/> name).</summary>
    internal const string PeerFailureItem = "SecureComms.PeerFailure";

    /// <summary>The caller's validated SPIFFE ID, kept for the audit event when its token is then refused.</summary>
    internal const string CallerItem = "SecureComms.Caller";
    private static readonly ConditionalWeakTable<X509Certificate2, string> Thumbprints = new();

    private readonly SecureCommsAuthenticationServices _s = services;
    private HttpContext? _context;
    private Task<AuthenticateResult>? _result;

    private HttpContext Context => _context ?? throw new InvalidOperationException("The handler has not been initialized.");

    private HttpRequest Request => Context.Request;

    private HttpResponse Response => Context.Response;

    private ILogger Logger => _s.Logger;

    private bool TokensRequired => _s.Tokens.TokensRequired;

    public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        return Task.CompletedTask;
    }

    /// <summary>Authenticates once per request; later calls (the policy evaluator, application code) get the same result.</summary>
    public Task<AuthenticateResult> AuthenticateAsync() => _result ??= HandleAuthenticateAsync();

    /// <summary>
    /// 403, as ASP.NET Core's handlers answer a forbidden request (SecureComms' own denials write their body first); to a
    /// gRPC call, PermissionDenied (<see cref="GrpcRefusal"/>).
    /// </summary>
    public Task ForbidAsync(AuthenticationProperties? properties)
    {
        if (GrpcRefusal.IsGrpcRequest(Request))
        {
            return GrpcRefusal.WriteAsync(Context, StatusCodes.Status403Forbidden, "The caller is not allowed to call this endpoint.");
        }

        Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }

    private async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        X509Certificate2? certificate = Context.Connection.ClientCertificate;
        SvidValidationResult? result = null;
        if (certificate is not null && !_s.Tls.TryGetHandshakeResult(certificate, out result))
        {
            // Not seen in our handshake (should not happen on SecureComms listeners): validate fully.
            result = _s.Validator.Validate(certificate, null, PeerSide.Client);
        }

        if (_s.ForwardedCertificates.Apply(Context, ref certificate, ref result) is { } refused)
        {
            return refused;
        }

        if (certificate is null || result is null)
        {
            // Plaintext listener opened on purpose, and no trusted forwarded certificate: no caller identity.
            return AuthenticateResult.NoResult();
        }

        // A connection can outlive its certificates: the verdict holds until the first certificate of the validated path
        // expires (kept with the verdict, so no certificate is read per request).
        DateTimeOffset now = _s.TimeProvider.GetUtcNow();
        if (result.IsValid && now.UtcDateTime > (result.ValidUntil?.UtcDateTime ?? certificate.NotAfter.ToUniversalTime()))
        {
            result = SvidValidationResult.Fail(SvidValidationFailure.Expired, "the caller's certificate or one of its CAs expired during the connection.", result.SpiffeId);
        }

        if (!result.IsValid)
        {
            ServerLog.PeerRejected(Logger, result.Failure, result.Detail ?? string.Empty);
            _s.Metrics.PeerCertificateRefused(result.Failure, PeerSide.Client);
            Context.Items[PeerFailureItem] = SecureCommsInstruments.ReasonName(result.Failure);
            return AuthenticateResult.Fail($"caller certificate: {result.Failure}");
        }

        SpiffeId id = result.SpiffeId;
        var workload = new WorkloadIdentity(id);
        if (!TokensRequired)
        {
            return await WithUserContextAsync(id, Success(new CallerPrincipal(workload))).ConfigureAwait(false);
        }

        // Warm paths: a token already validated once is found by the header string Kestrel reuses on the connection,
        // or else by its digest; JwtBearer does not run again. The binding is still checked on every request.
        StringValues authorization = Request.Headers.Authorization;
        string? bearer = authorization.Count == 1 ? authorization[0] : null;
        Sha256Key digest = default;
        bool digested = false;
        if (_s.ValidatedTokens.Enabled && bearer is not null)
        {
            if (_s.ValidatedTokens.TryGetByHeader(bearer, now, out ValidatedAccessToken? cached))
            {
                return await WithUserContextAsync(id, Complete(id, workload, cached, certificate)).ConfigureAwait(false);
            }

            if (TryGetBearerToken(bearer, out ReadOnlySpan<char> presented))
            {
                digest = Sha256Key.Of(presented);
                digested = true;
                if (_s.ValidatedTokens.TryGet(digest, now, out cached))
                {
                    _s.ValidatedTokens.RememberHeader(bearer, cached);
                    return await WithUserContextAsync(id, Complete(id, workload, cached, certificate)).ConfigureAwait(false);
                }
            }
        }

        // First sight of a JWT-SVID (when accepted): validated against the Workload API's JWT bundles.
        // The token's text is made once, for both the recognition and the validation.
        string? presentedSvid = _s.JwtSvids is not null && bearer is not null && TryGetBearerToken(bearer, out ReadOnlySpan<char> svidText) ? svidText.ToString() : null;
        if (_s.JwtSvids is { } svids && presentedSvid is not null && (_s.Tokens.Authority is null || svids.Recognizes(presentedSvid)))
        {
            (ValidatedAccessToken? svid, string? svidFailure) = await svids.ValidateAsync(presentedSvid).ConfigureAwait(false);
            if (svid is null)
            {
                return Refuse(id, svidFailure!);
            }

            if (digested)
            {
                _s.ValidatedTokens.Add(digest, svid, now);
                _s.ValidatedTokens.RememberHeader(bearer!, svid);
            }

            return await WithUserContextAsync(id, Complete(id, workload, svid, certificate)).ConfigureAwait(false);
        }

        // First sight of an opaque token (when accepted): RFC 7662 introspection at the authorization server, one call
        // per token whatever the number of concurrent requests, its answer remembered by the token's hash.
        if (_s.Introspection is { } introspection && TryGetBearerToken(bearer, out ReadOnlySpan<char> opaque) && TokenIntrospector.IsOpaque(opaque))
        {
            if (!digested)
            {
                digest = Sha256Key.Of(opaque);
            }

            IntrospectionVerdict verdict = await introspection.ValidateAsync(digest, opaque, now).ConfigureAwait(false);
            if (verdict.Token is not { } introspected)
            {
                return Refuse(id, verdict.Failure!);
            }

            // The steady state of a connection then skips the hash too, as for a JWT; the verdict holds no longer than
            // the introspection cache would keep it (its ExpiresAt is capped by MaxCacheDuration).
            _s.ValidatedTokens.RememberHeader(bearer!, introspected);
            return await WithUserContextAsync(id, Complete(id, workload, introspected, certificate)).ConfigureAwait(false);
        }

        if (_s.Tokens.Authority is null)
        {
            // Only JWT-SVIDs are accepted, and no bearer token came: no header, or another scheme's credentials, which
            // RFC 6750 §3.1 answers without an error code, as JwtBearer does.
            return Refuse(id, AccessTokenFailure.Missing);
        }

        // First sight of this token: JwtBearer validates it (keys from the issuer's JWKS, algorithms, iss, aud, typ, lifetime).
        AuthenticateResult token = await Context.AuthenticateAsync(AccessTokenJwtBearerSetup.Scheme).ConfigureAwait(false);
        if (token.None)
        {
            return Refuse(id, AccessTokenFailure.Missing);
        }

        if (!token.Succeeded)
        {
            return Refuse(id, AccessTokenFailure.From(token.Failure is AggregateException aggregate ? aggregate.InnerExceptions[0] : token.Failure));
        }

        if (token.Principal!.Identities.Count() != 1 || token.Properties?.GetParameter<ValidatedAccessToken>(AccessTokenJwtBearerSetup.ValidatedTokenProperty) is not { } validated)
        {
            return Refuse(id, AccessTokenFailure.Malformed);
        }

        if (digested)
        {
            _s.ValidatedTokens.Add(digest, validated, now);
            _s.ValidatedTokens.RememberHeader(bearer!, validated);
        }

        return await WithUserContextAsync(id, Complete(id, workload, validated, certificate)).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds the verified end user of a <c>SecureComms-User-Context</c> header to the caller's principal; a context that
    /// does not verify refuses the whole request (a plain header is never trusted, and never silently dropped).
    /// </summary>
    private async ValueTask<AuthenticateResult> WithUserContextAsync(SpiffeId id, AuthenticateResult result)
    {
        StringValues header = Request.Headers[SecureCommsUserContext.HeaderName];
        if (header.Count == 0 || !result.Succeeded)
        {
            return result; // no user context, or the access token was already refused
        }

        UserContextVerdict verdict = header.Count == 1
            ? await _s.UserContexts.ValidateAsync(header[0], id, _s.OwnCertificate.Current.SpiffeId).ConfigureAwait(false)
            : UserContextVerdict.Fail(SecureCommsTelemetry.Reasons.UserContextMalformed);
        if (verdict.User is null)
        {
            return Refuse(id, verdict.Failure!);
        }

        result.Principal!.AddIdentity(verdict.User.Clone()); // each request its own copy of the shared, verified identity
        return result;
    }

    /// <summary>RFC 6750 §2.1: <c>Bearer</c> (any case), one space, the token; surrounding spaces ignored as JwtBearer does.</summary>
    private static bool TryGetBearerToken(string? header, out ReadOnlySpan<char> token)
    {
        const string Prefix = "Bearer ";
        if (header is not null && header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            token = header.AsSpan(Prefix.Length).Trim();
            return !token.IsEmpty;
        }

        token = default;
        return false;
    }

    /// <summary>RFC 8705 §3: <c>cnf.x5t#S256</c> must be the base64url SHA-256 of the certificate on this connection.</summary>
    private AuthenticateResult Complete(SpiffeId id, WorkloadIdentity workload, ValidatedAccessToken token, X509Certificate2 certificate)
    {
        string? failure = null;
        if (token.JwtSvidSubject is { } subject)
        {
            // A JWT-SVID is not bound to a certificate: by default it counts only from the workload it names.
            if (_s.Tokens.RequireJwtSvidSubjectIsCaller && subject != id)
            {
                failure = AccessTokenFailure.JwtSvidSubjectIsNotCaller;
            }
        }
        else if (token.BindingMalformed)
        {
            failure = AccessTokenFailure.Malformed;
        }
        else if (token.BoundThumbprint is null)
        {
            failure = _s.Tokens.RequireCertificateBinding ? AccessTokenFailure.NotCertificateBound : null;
        }
        else if (!string.Equals(token.BoundThumbprint, Thumbprints.GetValue(certificate, CertificateBinding.Thumbprint), StringComparison.Ordinal))
        {
            failure = AccessTokenFailure.BoundToAnotherCertificate;
        }

        if (failure is not null)
        {
            return Refuse(id, failure);
        }

        var principal = new CallerPrincipal(workload);
        principal.AddIdentity(token.CreateIdentity());
        return Success(principal);
    }

    private AuthenticateResult Refuse(SpiffeId id, string failure)
    {
        Context.Items[FailureItem] = failure;
        Context.Items[CallerItem] = id;
        ServerLog.TokenRejected(Logger, id, Request.Method, Request.Path, failure);
        return AuthenticateResult.Fail(failure);
    }

    private static AuthenticateResult Success(ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, SecureCommsDefaults.AuthenticationScheme));

    /// <summary>
    /// 401 per RFC 6750 §3: <c>invalid_token</c> with a short reason, or no error code when no token came. A refused user
    /// context also carries <see cref="SecureCommsUserContext.RefusedChallengeParameter"/> (an extension auth-param,
    /// RFC 6750 §3), the code by which the caller's client knows that renewing its access token would not help.
    /// </summary>
    public Task ChallengeAsync(AuthenticationProperties? properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        string? failure = Context.Items.TryGetValue(FailureItem, out object? value) ? value as string : null;
        bool userContextRefused = failure?.StartsWith("UserContext", StringComparison.Ordinal) == true;
        if (TokensRequired || userContextRefused)
        {
            Response.Headers.WWWAuthenticate = failure is null or AccessTokenFailure.Missing
                ? "Bearer realm=\"SecureComms\""
                : userContextRefused
                    ? $"Bearer realm=\"SecureComms\", error=\"invalid_token\", error_description=\"{AccessTokenFailure.Describe(failure)}\", {SecureCommsUserContext.RefusedChallengeParameter}"
                    : $"Bearer realm=\"SecureComms\", error=\"invalid_token\", error_description=\"{AccessTokenFailure.Describe(failure)}\"";
        }

        return ProblemResponses.WriteAsync(
            Context,
            StatusCodes.Status401Unauthorized,
            "Unauthorized",
            failure is null ? "A valid caller identity is required." : AccessTokenFailure.Describe(failure));
    }
}

/// <summary>
/// What every <see cref="SecureCommsAuthenticationHandler"/> needs, built once: ASP.NET Core creates a handler per
/// request, so its dependencies are one reference and the trusted proxies are compiled once, not per request.
/// </summary>
internal sealed class SecureCommsAuthenticationServices(
    ServerTlsOptionsProvider tls,
    PeerCertificateValidator validator,
    TimeProvider timeProvider,
    IOptions<SecureCommsTokenValidationOptions> tokens,
    IOptions<SecureCommsServerOptions> server,
    SecureCommsServerMetrics metrics,
    ValidatedTokenCache validatedTokens,
    UserContextValidator userContexts,
    ICertificateSource ownCertificate,
    ITrustBundleSource trustBundles,
    ILogger<SecureCommsAuthenticationHandler> logger,
    IServiceProvider serviceProvider)
{
    public ILogger Logger { get; } = logger;

    public ServerTlsOptionsProvider Tls { get; } = tls;

    public PeerCertificateValidator Validator { get; } = validator;

    public TimeProvider TimeProvider { get; } = timeProvider;

    public SecureCommsTokenValidationOptions Tokens { get; } = tokens.Value;

    /// <summary>The JWT-SVID validator when JWT-SVIDs are accepted (so the Workload API is reached only then), else null.</summary>
    public JwtSvidValidator? JwtSvids { get; } = tokens.Value.AcceptJwtSvids ? Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<JwtSvidValidator>(serviceProvider) : null;

    /// <summary>The introspection of opaque tokens when it is enabled, else null.</summary>
    public TokenIntrospector? Introspection { get; } = tokens.Value.Introspection.Enabled && tokens.Value.Authority is not null ? Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<TokenIntrospector>(serviceProvider) : null;

    public ForwardedCertificateAuthenticator ForwardedCertificates { get; } = new(server.Value.ForwardedCertificates, validator, trustBundles, timeProvider, logger);

    public SecureCommsServerMetrics Metrics { get; } = metrics;

    public ValidatedTokenCache ValidatedTokens { get; } = validatedTokens;

    public UserContextValidator UserContexts { get; } = userContexts;

    public ICertificateSource OwnCertificate { get; } = ownCertificate;
}
