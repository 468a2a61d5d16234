using System.Net;
using System.Net.Security;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.Testing;

namespace SecureComms.Load.ByHand;

/// <summary>
/// The same checks as full SecureComms, written by hand with the stock ASP.NET Core 10 packages, as a competent team
/// would: Kestrel requires a client certificate chained to the development CA (the mTLS-only baseline's handshake);
/// <c>Microsoft.AspNetCore.Authentication.Certificate</c> validates it against the bundle's root and reads the SPIFFE ID
/// from its URI SAN into a claim; JwtBearer validates the certificate-bound access token from the development token
/// server (issuer, audience, lifetime, signature from its JWKS, <c>typ</c> <c>at+jwt</c>); an authorization handler
/// compares the token's <c>cnf.x5t#S256</c> with the connection's certificate (RFC 8705 §3); one policy requires both
/// schemes, the binding and the caller's SPIFFE ID on <c>GET /work</c>.
/// </summary>
/// <remarks>
/// What was done to make it fast: the certificate scheme's verdict is kept per certificate
/// (<c>AddCertificateCache()</c>, its defaults: 1,024 entries, 2 minutes sliding), so a keep-alive caller pays the chain
/// build once per 2 minutes rather than per request; the SPIFFE ID claim is made inside that cached result; JwtBearer
/// keeps its metadata and signing keys (its default <c>ConfigurationManager</c>, refreshed daily) and its crypto
/// providers; <c>MapInboundClaims</c> is off (no claim renaming per request); the binding check hashes the connection's
/// certificate into a stack buffer and compares base64url characters without allocating (only the <c>cnf</c> JSON is
/// parsed per request); logging providers are cleared, as in every mode of the harness.
/// What was deliberately NOT done: no cache of validated tokens — JwtBearer has none by default, so every request
/// checks the token's ES256 signature, as a stock service does; no per-connection cache of the certificate's
/// thumbprint; no custom token handler. Those are what SecureComms adds, and what this mode is compared against.
/// </remarks>
internal static class ByHandServer
{
    /// <summary>The claim the certificate scheme puts the caller's SPIFFE ID in.</summary>
    public const string SpiffeIdClaim = "spiffe_id";

    /// <summary>The endpoint's policy: both schemes, the token bound to the connection's certificate, the caller.</summary>
    public const string WorkPolicy = "load-client-works";

    public static async Task<WebApplication> StartAsync(WorkloadCertificate server, X509Certificate2 ca, Uri tokenIssuer, string audience, SpiffeId caller)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(https =>
            {
                https.ServerCertificate = server.Certificate;
                https.ServerCertificateChain = server.Intermediates;
                https.SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;

                // As the mTLS-only baseline: no certificate, or one the CA did not issue, and there is no connection.
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (certificate, _, _) => LoadServers.TrustsDevelopmentCa(ca, certificate);
            });
        }));

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddCertificate(options =>
            {
                options.AllowedCertificateTypes = CertificateTypes.Chained;
                options.ChainTrustValidationMode = X509ChainTrustMode.CustomRootTrust;
                options.CustomTrustStore.Add(ca);
                options.RevocationMode = X509RevocationMode.NoCheck;
                options.Events = new CertificateAuthenticationEvents { OnCertificateValidated = ReadSpiffeId };
            })
            .AddCertificateCache()
            .AddJwtBearer(options =>
            {
                options.Authority = tokenIssuer.GetLeftPart(UriPartial.Authority);
                options.Audience = audience;
                options.MapInboundClaims = false;
                options.TokenValidationParameters.ValidTypes = ["at+jwt"]; // RFC 9068 §4
                options.BackchannelHttpHandler = TokenServerBackchannel(server, ca);
            });
        builder.Services.AddSingleton<IAuthorizationHandler, TokenBindingHandler>();
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, MissingTokenChallenge>();
        builder.Services.AddAuthorizationBuilder().AddPolicy(WorkPolicy, policy => policy
            .AddAuthenticationSchemes(CertificateAuthenticationDefaults.AuthenticationScheme, JwtBearerDefaults.AuthenticationScheme)
            .RequireAuthenticatedUser()
            .AddRequirements(new TokenBindingRequirement())
            .RequireClaim(SpiffeIdClaim, caller.ToString()));

        WebApplication app = builder.Build();
        app.MapGet("/work", () => LoadServers.Body).RequireAuthorization(WorkPolicy);
        await app.StartAsync();
        return app;
    }

    /// <summary>
    /// The SPIFFE ID is the certificate's URI SAN (X509-SVID §2: exactly one; .NET returns the first URI SAN for
    /// <see cref="X509NameType.UrlName"/>). It runs once per certificate, inside the cached result.
    /// </summary>
    private static Task ReadSpiffeId(CertificateValidatedContext context)
    {
        string uri = context.ClientCertificate.GetNameInfo(X509NameType.UrlName, forIssuer: false);
        if (!uri.StartsWith("spiffe://", StringComparison.Ordinal))
        {
            context.Fail("The client certificate has no SPIFFE ID.");
            return Task.CompletedTask;
        }

        context.Principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(SpiffeIdClaim, uri, ClaimValueTypes.String, context.Options.ClaimsIssuer)], context.Scheme.Name));
        context.Success();
        return Task.CompletedTask;
    }

    /// <summary>
    /// JwtBearer's metadata and JWKS calls: the token server requires a client certificate (this server's SVID) and is
    /// checked by its SPIFFE ID against the development CA (its SVID has no DNS name).
    /// </summary>
    private static SocketsHttpHandler TokenServerBackchannel(WorkloadCertificate server, X509Certificate2 ca) => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificateContext = SslStreamCertificateContext.Create(server.Certificate, server.Intermediates, offline: true),
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is X509Certificate2 tokenServer
                && LoadServers.TrustsDevelopmentCa(ca, tokenServer)
                && tokenServer.GetNameInfo(X509NameType.UrlName, forIssuer: false) == "spiffe://example.org/token-server",
        },
    };
}
