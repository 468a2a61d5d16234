using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>
/// An issuer the tests hold the key of: real Kestrel serving OpenID metadata and a JWKS over TLS (its certificate is
/// an SVID from the test CA), so tests can mint tokens that are validly signed but wrong in every other way.
/// </summary>
internal sealed class TestIssuer : IAsyncDisposable
{
    private readonly SecureServiceHost _host;
    private int _jwksRequests;

    private TestIssuer(SecureServiceHost host, ECDsa key)
    {
        _host = host;
        Key = new ECDsaSecurityKey(key) { KeyId = "test-key-1" };
    }

    public ECDsaSecurityKey Key { get; }

    public string Issuer => _host.BaseAddress.GetLeftPart(UriPartial.Authority);

    public Uri Authority => new(Issuer);

    public int JwksRequests => Volatile.Read(ref _jwksRequests);

    public static async Task<TestIssuer> StartAsync()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        TestIssuer? issuer = null;
        SecureServiceHost host = await SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
                {
                    ["issuer"] = issuer!.Issuer,
                    ["jwks_uri"] = issuer.Issuer + "/jwks",
                    ["token_endpoint"] = issuer.Issuer + "/token",
                })).AllowAnonymous();
                app.MapGet("/jwks", () =>
                {
                    Interlocked.Increment(ref issuer!._jwksRequests);
                    ECParameters p = key.ExportParameters(false);
                    return Results.Json(new { keys = new[] { new { kty = "EC", crv = "P-256", kid = "test-key-1", use = "sig", alg = "ES256", x = Base64Url.EncodeToString(p.Q.X!), y = Base64Url.EncodeToString(p.Q.Y!) } } });
                }).AllowAnonymous();
            },
            new InMemoryCertificateSource(TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server"))),
            TestPki.Bundles());
        issuer = new TestIssuer(host, key);
        return issuer;
    }

    /// <summary>
    /// Mints a token; by default a valid RFC 9068 access token for <paramref name="audience"/> bound to
    /// <paramref name="boundTo"/>, whose <c>sub</c> is its <c>client_id</c> (<paramref name="subject"/> changes that).
    /// </summary>
    public string Mint(
        string audience,
        WorkloadCertificate? boundTo,
        string? scope = "invoices.read",
        string? issuer = null,
        DateTime? expires = null,
        DateTime? notBefore = null,
        string type = "at+jwt",
        SigningCredentials? signing = null,
        bool withNotBefore = true,
        bool withExpiry = true,
        string subject = "orders")
    {
        DateTime now = DateTime.UtcNow;
        var claims = new Dictionary<string, object> { ["sub"] = subject, ["client_id"] = "orders", ["jti"] = Guid.NewGuid().ToString("N") };
        if (scope is not null)
        {
            claims["scope"] = scope;
        }

        if (boundTo is not null)
        {
            claims["cnf"] = new Dictionary<string, object> { ["x5t#S256"] = boundTo.Sha256Thumbprint };
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = withNotBefore ? notBefore ?? now.AddSeconds(-5) : null,
            Expires = withExpiry ? expires ?? now.AddMinutes(5) : null,
            TokenType = type,
            Claims = claims,
            SigningCredentials = signing ?? new SigningCredentials(Key, SecurityAlgorithms.EcdsaSha256),
        });
    }

    /// <summary>
    /// A token whose payload is exactly <paramref name="payloadJson"/> (no serializer in between, so it can carry what
    /// no serializer writes: a lone surrogate escape, a duplicate member), validly signed ES256 with the issuer's key.
    /// </summary>
    public string MintRaw(string payloadJson, string headerJson = """{"alg":"ES256","typ":"at+jwt","kid":"test-key-1"}""")
    {
        string signingInput = $"{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(headerJson))}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payloadJson))}";
        byte[] signature = Key.ECDsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256); // RFC 7518 §3.4: R || S
        return $"{signingInput}.{Base64Url.EncodeToString(signature)}";
    }

    /// <summary>The members of a valid access token's payload for <paramref name="audience"/>, to which <paramref name="extraMembers"/> (raw JSON, after a comma) are appended.</summary>
    public string Payload(string audience, string extraMembers)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return $$"""{"iss":"{{Issuer}}","aud":"{{audience}}","sub":"orders","client_id":"orders","scope":"invoices.read","iat":{{now}},"exp":{{now + 300}}{{(extraMembers.Length == 0 ? string.Empty : ",")}}{{extraMembers}}}""";
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
