using System.Net.Security;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using SecureComms.Testing;

namespace SecureComms.Benchmarks.Server;

/// <summary>
/// What the server-side benchmarks share: an issuer whose signing key is handed to SecureComms' JwtBearer directly (no
/// metadata endpoint), certificate-bound access tokens from it, and the handshake's verdict on a caller's certificate.
/// </summary>
internal sealed class BenchmarkTokenIssuer
{
    public const string Issuer = "https://issuer.example.org";

    private readonly ECDsaSecurityKey _key = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "k1" };

    /// <summary>An ES256 <c>at+jwt</c> for <paramref name="audience"/>, bound (<c>cnf.x5t#S256</c>) to <paramref name="holder"/>.</summary>
    public string CreateBoundToken(string audience, string subject, string scope, WorkloadCertificate holder, TimeSpan lifetime) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Expires = DateTime.UtcNow.Add(lifetime),
            TokenType = "at+jwt",
            Claims = new Dictionary<string, object>
            {
                ["sub"] = subject,
                ["scope"] = scope,
                ["cnf"] = new Dictionary<string, object> { ["x5t#S256"] = holder.Sha256Thumbprint },
            },
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.EcdsaSha256),
        });

    /// <summary>Gives SecureComms' token validation this issuer's key directly.</summary>
    public void TrustIn(IServiceCollection services)
    {
        var configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
        configuration.SigningKeys.Add(_key);
        services.Configure<JwtBearerOptions>("SecureComms.AccessToken", o => o.Configuration = configuration);
    }

    /// <summary>Records the handshake's verdict on <paramref name="caller"/>, as Kestrel's handshake does once per connection.</summary>
    public static void ValidateInHandshake(IServiceProvider services, WorkloadCertificate caller)
    {
        SslServerAuthenticationOptions tls = services.GetRequiredService<ServerTlsOptionsProvider>().GetOptions();
        if (!tls.RemoteCertificateValidationCallback!(services, caller.Certificate, null, SslPolicyErrors.None))
        {
            throw new InvalidOperationException("The caller certificate does not validate.");
        }
    }
}
