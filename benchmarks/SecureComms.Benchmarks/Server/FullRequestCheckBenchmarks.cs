using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.Testing;

namespace SecureComms.Benchmarks.Server;

/// <summary>
/// The per-request cost of SecureComms on the receiving side with warm caches: the caller's identity from the
/// connection's handshake verdict, the JWT from the validated-token cache, the <c>cnf</c> binding check and the central
/// policy, through the real authentication and authorization services. Baseline: the same request object with no
/// SecureComms check at all. Per-connection work (the TLS handshake and chain build) is not included.
/// </summary>
[MemoryDiagnoser]
public class FullRequestCheckBenchmarks
{
    private const string Audience = "https://billing.example.org";

    private ServiceProvider _services = null!;
    private IServiceScopeFactory _scopeFactory = null!;
    private IPolicyEvaluator _authorization = null!;
    private IAuthorizationMiddlewareResultHandler _decisions = null!;
    private AuthorizationPolicy _policy = null!;
    private X509Certificate2 _caller = null!;
    private string _authorizationHeader = null!;
    private ServiceProvider _uncachedServices = null!;
    private IServiceScopeFactory _uncachedScopes = null!;
    private IPolicyEvaluator _uncachedAuthorization = null!;
    private IAuthorizationMiddlewareResultHandler _uncachedDecisions = null!;
    private ServerTlsOptionsProvider _tls = null!;
    private ServiceProvider _frameworkServices = null!;
    private IServiceScopeFactory _frameworkScopes = null!;
    private IPolicyEvaluator _frameworkAuthorization = null!;
    private AuthorizationPolicy _frameworkPolicy = null!;

    [GlobalSetup]
    public void Setup()
    {
        var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        WorkloadCertificate orders = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/orders"));
        _caller = orders.Certificate;
        var issuer = new BenchmarkTokenIssuer();
        WorkloadCertificate billing = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/billing"));
        _services = BuildSecureComms(ca, billing, issuer, validatedTokenCacheSize: 10_000);
        _uncachedServices = BuildSecureComms(ca, billing, issuer, validatedTokenCacheSize: 0);
        _uncachedScopes = _uncachedServices.GetRequiredService<IServiceScopeFactory>();
        _uncachedAuthorization = _uncachedServices.GetRequiredService<IPolicyEvaluator>();
        _uncachedDecisions = _uncachedServices.GetRequiredService<IAuthorizationMiddlewareResultHandler>();
        _scopeFactory = _services.GetRequiredService<IServiceScopeFactory>();
        _authorization = _services.GetRequiredService<IPolicyEvaluator>();
        _decisions = _services.GetRequiredService<IAuthorizationMiddlewareResultHandler>();
        _policy = _services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthorizationOptions>>().Value.FallbackPolicy!;

        (_frameworkServices, _frameworkPolicy) = FrameworkOnlyAuthentication.Build();
        _frameworkScopes = _frameworkServices.GetRequiredService<IServiceScopeFactory>();
        _frameworkAuthorization = _frameworkServices.GetRequiredService<IPolicyEvaluator>();

        // The handshake verdict, as Kestrel's handshake records it once per connection.
        _tls = _services.GetRequiredService<ServerTlsOptionsProvider>();
        BenchmarkTokenIssuer.ValidateInHandshake(_services, orders);
        BenchmarkTokenIssuer.ValidateInHandshake(_uncachedServices, orders);
        string token = issuer.CreateBoundToken(Audience, "orders", "invoices.read", orders, TimeSpan.FromHours(1));
        _authorizationHeader = "Bearer " + token;
        if (!FullCheckAsync().GetAwaiter().GetResult() || !TokenValidatedEveryTimeAsync().GetAwaiter().GetResult())
        {
            throw new InvalidOperationException("The benchmark request is not allowed; the setup is wrong.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _services.Dispose();
        _uncachedServices.Dispose();
        _frameworkServices.Dispose();
    }

    [Benchmark(Baseline = true, Description = "request object and its service scope only, no SecureComms")]
    public async Task<bool> NoSecureCommsAsync()
    {
        DefaultHttpContext context = NewRequest();
        bool ok = context.RequestServices is not null && context.Request.Headers.Authorization.Count == 1;
        await EndRequestAsync(context);
        return ok;
    }

    [Benchmark(Description = "ASP.NET Core authentication + authorization alone (prebuilt result, always-true policy)")]
    public async Task<bool> FrameworkOnlyAsync()
    {
        DefaultHttpContext context = NewRequest(_frameworkScopes);
        try
        {
            AuthenticateResult authentication = await context.AuthenticateAsync(FrameworkOnlyAuthentication.Scheme);
            context.User = authentication.Principal!;
            AuthenticateResult policyAuthentication = await _frameworkAuthorization.AuthenticateAsync(_frameworkPolicy, context);
            PolicyAuthorizationResult result = await _frameworkAuthorization.AuthorizeAsync(_frameworkPolicy, policyAuthentication, context, context);
            return result.Succeeded;
        }
        finally
        {
            await EndRequestAsync(context);
        }
    }

    [Benchmark(Description = "full check: identity + cached JWT + cnf binding + policy + recorded decision")]
    public Task<bool> FullCheckAsync() => RunAsync(Stage.Decision);

    [Benchmark(Description = "same, validated-token cache off: JwtBearer validates the JWT (signature) every time")]
    public Task<bool> TokenValidatedEveryTimeAsync() => RunAsync(Stage.Decision, tokenCacheOff: true);

    [Benchmark(Description = "validated-token digest: SHA-256 of the presented token, the cache's key")]
    public ulong PresentedSha256Key() => Sha256Key.Of(_authorizationHeader.AsSpan(7)).A;

    [Benchmark(Description = "caller verdict lookup: the handshake's SVID validation, found per request (warm)")]
    public bool CallerVerdictLookup() => _tls.TryGetHandshakeResult(_caller, out SvidValidationResult? result) && result!.IsValid;

    /// <summary>How far <see cref="RunAsync"/> goes; the allocation probe measures each stage.</summary>
    internal enum Stage
    {
        Authentication,
        Authorization,
        Decision,
    }

    /// <summary>
    /// One request, as the authentication and authorization middleware would run it, up to <paramref name="last"/>.
    /// Each request has its own service scope, as in ASP.NET Core, so nothing is reused across requests that a real
    /// server would not reuse (authentication handlers are per request).
    /// </summary>
    internal async Task<bool> RunAsync(Stage last, bool tokenCacheOff = false)
    {
        DefaultHttpContext context = NewRequest(tokenCacheOff ? _uncachedScopes : null);
        IPolicyEvaluator authorization = tokenCacheOff ? _uncachedAuthorization : _authorization;
        IAuthorizationMiddlewareResultHandler decisions = tokenCacheOff ? _uncachedDecisions : _decisions;
        try
        {
            AuthenticateResult authentication = await context.AuthenticateAsync(SecureCommsDefaults.AuthenticationScheme);
            if (!authentication.Succeeded)
            {
                return false;
            }

            context.User = authentication.Principal!;
            if (last == Stage.Authentication)
            {
                return true;
            }

            // What the authorization middleware does: the policy evaluator's authenticate and authorize steps.
            AuthenticateResult policyAuthentication = await authorization.AuthenticateAsync(_policy, context);
            PolicyAuthorizationResult result = await authorization.AuthorizeAsync(_policy, policyAuthentication, context, context);
            if (!result.Succeeded || last == Stage.Authorization)
            {
                return result.Succeeded;
            }

            // What the authorization middleware does next: record the decision (counter; span and audit event only
            // when someone listens), then run the endpoint.
            bool ran = false;
            await decisions.HandleAsync(_ => { ran = true; return Task.CompletedTask; }, context, _policy, result);
            return ran;
        }
        finally
        {
            await EndRequestAsync(context);
        }
    }

    private static ServiceProvider BuildSecureComms(DevelopmentCertificateAuthority ca, WorkloadCertificate own, BenchmarkTokenIssuer issuer, int validatedTokenCacheSize)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:TokenValidation:Authority"] = BenchmarkTokenIssuer.Issuer,
            ["SecureComms:TokenValidation:Audience"] = Audience,
            ["SecureComms:Authorization:Rules:0:Callers:0"] = "spiffe://example.org/orders",
            ["SecureComms:Authorization:Rules:0:Paths:0"] = "/invoices/*",
            ["SecureComms:Authorization:Rules:0:Methods:0"] = "GET",
            ["SecureComms:TokenValidation:ValidatedTokenCacheSize"] = validatedTokenCacheSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Critical));
        services.AddSingleton(configuration);
        services.AddSecureComms(configuration)
            .UseCertificateSource(new InMemoryCertificateSource(own))
            .UseTrustBundleSource(new InMemoryTrustBundleSource(ca.CreateTrustBundle()));
        issuer.TrustIn(services);
        return services.BuildServiceProvider();
    }

    internal static ValueTask EndRequestAsync(DefaultHttpContext context) =>
        context.Features.Get<IServiceProvidersFeature>() is IAsyncDisposable scope ? scope.DisposeAsync() : default;

    private DefaultHttpContext NewRequest(IServiceScopeFactory? scopes = null)
    {
        var context = new DefaultHttpContext { ServiceScopeFactory = scopes ?? _scopeFactory };
        context.Features.Set<ITlsConnectionFeature>(new TlsConnectionFeature { ClientCertificate = _caller });
        context.Request.Method = "GET";
        context.Request.Path = "/invoices/42";
        context.Request.Headers.Authorization = _authorizationHeader;
        return context;
    }
}
