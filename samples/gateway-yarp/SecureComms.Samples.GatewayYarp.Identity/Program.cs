// =====================================================================================================================
//  DEVELOPMENT ONLY. THIS IS NOT AN IDENTITY PROVIDER FOR PRODUCTION.
//
//  The gateway sample's stand-in for an OIDC provider: SecureComms.Testing's DevelopmentTokenServer (metadata, JWKS,
//  certificate-bound tokens for workloads over mutual TLS), and a sign-in for end users that returns an ordinary
//  bearer access token for the gateway (a JWT with sub and role, signed with the same keys). Users and passwords come
//  from appsettings.json. In production the gateway trusts your real OIDC provider instead (its Authority).
// =====================================================================================================================
using SecureComms.Samples.GatewayYarp.Identity;
using SecureComms.Samples.TokenServer;
using SecureComms.Testing;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
DevelopmentTokenServerSettings settings = builder.Configuration.GetSection(DevelopmentTokenServerSettings.SectionName).Get<DevelopmentTokenServerSettings>()
    ?? throw new InvalidOperationException($"The {DevelopmentTokenServerSettings.SectionName} section is missing from appsettings.json.");
SignInSettings signIn = builder.Configuration.GetSection(SignInSettings.SectionName).Get<SignInSettings>()
    ?? throw new InvalidOperationException($"The {SignInSettings.SectionName} section is missing from appsettings.json.");

// The sign-in listener: HTTPS with the token server's SVID, no client certificate (users have none).
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, signIn.Port, listen =>
    listen.UseHttps(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(settings.CertificatePath!, settings.KeyPath!))));

WebApplication app = builder.Build();
ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SecureComms.Samples.GatewayYarp.Identity");
await using DevelopmentTokenServer server = await DevelopmentTokenServer.StartAsync(settings.ToOptions(app.Services.GetRequiredService<ILoggerFactory>()));

// POST /sign-in (form: username, password) -> {"access_token": "...", "token_type": "Bearer"}: the token the gateway
// validates (iss = the token server, aud = SignIn:Audience). Wrong password or unknown user: 401, nothing issued.
app.MapPost("/sign-in", (HttpRequest request) =>
{
    string username = request.Form["username"].ToString();
    if (!signIn.Users.TryGetValue(username, out UserSettings? user) || !string.Equals(user.Password, request.Form["password"].ToString(), StringComparison.Ordinal))
    {
        IdentityLog.SignInRefused(logger, username);
        return Results.Json(new Dictionary<string, string> { ["error"] = "invalid_grant" }, statusCode: StatusCodes.Status401Unauthorized);
    }

    string token = server.IssueUserToken(username, signIn.Audience, new Dictionary<string, object> { ["role"] = user.Roles.ToArray(), ["name"] = user.Name ?? username });
    IdentityLog.SignedIn(logger, username);
    return Results.Json(new Dictionary<string, string> { ["access_token"] = token, ["token_type"] = "Bearer" });
});

IdentityLog.Started(logger, server.Issuer, signIn.Port);
await app.RunAsync(); // until Ctrl+C or SIGTERM
