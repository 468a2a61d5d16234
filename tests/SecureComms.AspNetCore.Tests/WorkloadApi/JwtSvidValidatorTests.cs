using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms.AspNetCore.Tests.WorkloadApi;

/// <summary>
/// JWT-SVID validation against JWT bundles of two trust domains (pushed here as the Workload API would): a key is
/// looked up only in the bundle of the trust domain the <c>sub</c> names, and the JWT-SVID rules (algorithms, exp)
/// hold. Also which tokens are taken for JWT-SVIDs next to an OAuth authority, and the options' start-up rules.
/// </summary>
[TestClass]
public sealed class JwtSvidValidatorTests
{
    private const string Audience = "spiffe://example.org/billing";
    private static readonly ECDsaSecurityKey OurKey = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "ours" };
    private static readonly ECDsaSecurityKey PartnerKey = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "theirs" };
    private static readonly RsaSecurityKey OurRsaKey = new(RSA.Create(2048)) { KeyId = "ours-rsa" };

    public TestContext TestContext { get; set; } = null!;

    public static IEnumerable<object?[]> Tokens()
    {
        yield return ["ES256 JWT-SVID of our trust domain", (Func<string>)(() => Mint("spiffe://example.org/orders", Sign(OurKey))), null];
        yield return ["RS256 JWT-SVID of our trust domain", (Func<string>)(() => Mint("spiffe://example.org/orders", new SigningCredentials(OurRsaKey, SecurityAlgorithms.RsaSha256))), null];
        yield return ["PS384 JWT-SVID of our trust domain", (Func<string>)(() => Mint("spiffe://example.org/orders", new SigningCredentials(OurRsaKey, SecurityAlgorithms.RsaSsaPssSha384))), null];
        yield return ["JWT-SVID of the federated trust domain, signed by its key", (Func<string>)(() => Mint("spiffe://partner.test/payments", Sign(PartnerKey))), null];
        yield return ["sub in our trust domain, signed by the federated domain's key", (Func<string>)(() => Mint("spiffe://example.org/orders", Sign(PartnerKey))), AccessTokenFailure.UnknownSigningKey];
        yield return ["sub in the federated domain, signed by our key", (Func<string>)(() => Mint("spiffe://partner.test/payments", Sign(OurKey))), AccessTokenFailure.UnknownSigningKey];
        yield return ["no kid", (Func<string>)(() => Mint("spiffe://example.org/orders", new SigningCredentials(new ECDsaSecurityKey(OurKey.ECDsa), SecurityAlgorithms.EcdsaSha256))), AccessTokenFailure.UnknownSigningKey];
        yield return ["no exp", (Func<string>)(() => Mint("spiffe://example.org/orders", Sign(OurKey), withExpiry: false)), AccessTokenFailure.WithoutExpiration];
        yield return ["another audience", (Func<string>)(() => Mint("spiffe://example.org/orders", Sign(OurKey), audience: "spiffe://example.org/other")), AccessTokenFailure.WrongAudience];
        yield return ["sub with a query, not a SPIFFE ID", (Func<string>)(() => Mint("spiffe://example.org/orders?x=1", Sign(OurKey))), AccessTokenFailure.Malformed];
        yield return ["HS256 keyed with our kid", (Func<string>)(() => Mint("spiffe://example.org/orders", new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "ours" }, SecurityAlgorithms.HmacSha256))), AccessTokenFailure.AlgorithmNotAllowed];
    }

    [TestMethod]
    [DynamicData(nameof(Tokens))]
    public async Task JwtSvid_IsValidatedOnlyWithTheKeysOfItsOwnTrustDomain(string token, Func<string> mint, string? failure)
    {
        await using Bed bed = await Bed.StartAsync(TestContext);

        (ValidatedAccessToken? validated, string? refused) = await bed.Validator.ValidateAsync(mint());

        Assert.AreEqual(failure, refused, token);
        Assert.AreEqual(failure is null, validated is not null, token);
        if (validated is not null)
        {
            Assert.AreEqual(new JsonWebToken(mint()).Subject, validated.JwtSvidSubject.ToString(), token);
        }
    }

    [TestMethod]
    public async Task KeyRemovedFromTheBundle_NoLongerValidatesNewTokens()
    {
        await using Bed bed = await Bed.StartAsync(TestContext);

        bed.Bundles.Apply(Response(("spiffe://example.org", Jwks(PartnerKey))));

        Assert.AreEqual(AccessTokenFailure.UnknownSigningKey, (await bed.Validator.ValidateAsync(Mint("spiffe://example.org/orders", Sign(OurKey)))).Failure);
    }

    public static IEnumerable<object?[]> Recognition()
    {
        yield return ["a JWT-SVID", """{"alg":"ES256","typ":"JWT"}""", """{"sub":"spiffe://example.org/orders","aud":"x","exp":1}""", true];
        yield return ["a JWT-SVID with an iss of its own", """{"alg":"ES256"}""", """{"sub":"spiffe://example.org/orders","iss":"https://spire.example.org","exp":1}""", true];
        yield return ["an RFC 9068 access token (typ at+jwt)", """{"alg":"ES256","typ":"at+jwt"}""", """{"sub":"spiffe://example.org/orders","exp":1}""", false];
        yield return ["a certificate-bound token (cnf)", """{"alg":"ES256"}""", """{"sub":"spiffe://example.org/orders","cnf":{"x5t#S256":"x"},"exp":1}""", false];
        yield return ["a token of the OAuth authority", """{"alg":"ES256"}""", """{"sub":"spiffe://example.org/orders","iss":"https://as.example.org/","exp":1}""", false];
        yield return ["a token whose sub is no SPIFFE ID", """{"alg":"ES256"}""", """{"sub":"orders","exp":1}""", false];
        yield return ["no JWT at all", null, "garbage", false];
    }

    [TestMethod]
    [DynamicData(nameof(Recognition))]
    public async Task NextToAnOAuthAuthority_OnlyJwtSvidShapedTokensAreTakenForJwtSvids(string token, string? header, string payload, bool isJwtSvid)
    {
        await using Bed bed = await Bed.StartAsync(TestContext, authority: new Uri("https://as.example.org"));
        string text = header is null ? payload : $"{Encode(header)}.{Encode(payload)}.c2ln";

        Assert.AreEqual(isJwtSvid, bed.Validator.Recognizes(text), token);
    }

    public static IEnumerable<object?[]> InvalidOptions()
    {
        yield return ["no audience", new SecureCommsTokenValidationOptions { AcceptJwtSvids = true }, "SecureComms:TokenValidation:JwtSvidAudience is required with SecureComms:TokenValidation:AcceptJwtSvids"];
        yield return ["an audience without accepting", new SecureCommsTokenValidationOptions { JwtSvidAudience = Audience }, "SecureComms:TokenValidation:JwtSvidAudience is set but SecureComms:TokenValidation:AcceptJwtSvids is false"];
        yield return ["a bad skew with JWT-SVIDs only", new SecureCommsTokenValidationOptions { AcceptJwtSvids = true, JwtSvidAudience = Audience, ClockSkew = TimeSpan.FromHours(1) }, "SecureComms:TokenValidation:ClockSkew must be between 0 and 00:05:00."];
    }

    [TestMethod]
    [DynamicData(nameof(InvalidOptions))]
    public void InvalidJwtSvidSettings_FailStartUp_NamingTheKey(string problem, SecureCommsTokenValidationOptions options, string expected)
    {
        ValidateOptionsResult result = new SecureCommsTokenValidationOptionsValidator().Validate(null, options);

        Assert.IsTrue(result.Failed, problem);
        Assert.IsTrue(result.Failures!.Any(f => f.Contains(expected, StringComparison.Ordinal)), $"{problem}: {result.FailureMessage}");
    }

    [TestMethod]
    public void AcceptingJwtSvidsWithAnAudience_WithoutAnAuthority_IsValid()
    {
        ValidateOptionsResult result = new SecureCommsTokenValidationOptionsValidator().Validate(null, new SecureCommsTokenValidationOptions { AcceptJwtSvids = true, JwtSvidAudience = Audience });

        Assert.IsTrue(result.Succeeded, result.FailureMessage);
    }

    private static string Encode(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));

    private static SigningCredentials Sign(ECDsaSecurityKey key) => new(key, SecurityAlgorithms.EcdsaSha256);

    private static string Mint(string subject, SigningCredentials signing, bool withExpiry = true, string audience = Audience)
    {
        DateTime now = DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["aud"] = audience },
            IssuedAt = now,
            Expires = withExpiry ? now.AddMinutes(5) : null,
            SigningCredentials = signing,
            TokenType = "JWT",
        });
    }

    private static string Jwks(params SecurityKey[] keys)
    {
        var entries = new List<string>();
        foreach (SecurityKey key in keys)
        {
            JsonWebKey jwk = key is RsaSecurityKey rsa ? JsonWebKeyConverter.ConvertFromRSASecurityKey(rsa) : JsonWebKeyConverter.ConvertFromECDsaSecurityKey((ECDsaSecurityKey)key);
            entries.Add(key is RsaSecurityKey
                ? System.Text.Json.JsonSerializer.Serialize(new { kty = "RSA", kid = key.KeyId, use = "jwt-svid", n = jwk.N, e = jwk.E })
                : System.Text.Json.JsonSerializer.Serialize(new { kty = "EC", kid = key.KeyId, use = "jwt-svid", crv = jwk.Crv, x = jwk.X, y = jwk.Y }));
        }

        return $$"""{"keys":[{{string.Join(",", entries)}}]}""";
    }

    private static JWTBundlesResponse Response(params (string TrustDomain, string Jwks)[] bundles)
    {
        var response = new JWTBundlesResponse();
        foreach ((string trustDomain, string jwks) in bundles)
        {
            response.Bundles[trustDomain] = ByteString.CopyFrom(Encoding.UTF8.GetBytes(jwks));
        }

        return response;
    }

    /// <summary>A bundle source on a development Workload API server, then given both trust domains' keys.</summary>
    private sealed class Bed : IAsyncDisposable
    {
        private readonly DevelopmentWorkloadApiServer _server;
        private readonly WorkloadApiConnection _connection;

        private Bed(DevelopmentWorkloadApiServer server, WorkloadApiConnection connection, WorkloadApiJwtBundleSource bundles, JwtSvidValidator validator)
        {
            _server = server;
            _connection = connection;
            Bundles = bundles;
            Validator = validator;
        }

        public WorkloadApiJwtBundleSource Bundles { get; }

        public JwtSvidValidator Validator { get; }

        public static async Task<Bed> StartAsync(TestContext context, Uri? authority = null)
        {
            DevelopmentWorkloadApiServer server = await DevelopmentWorkloadApiServer.StartAsync(
                new DevelopmentWorkloadApiServerOptions { Authority = TestPki.Ca, SpiffeId = TestPki.Billing },
                context.CancellationToken);
            var connection = new WorkloadApiConnection(WorkloadApiEndpoint.Parse(server.Socket));
            var bundles = new WorkloadApiJwtBundleSource(connection, new WorkloadApiOptions(), TimeProvider.System, NullLogger.Instance);
            var validator = new JwtSvidValidator(
                Options.Create(new SecureCommsTokenValidationOptions { Authority = authority, AcceptJwtSvids = true, JwtSvidAudience = Audience }),
                bundles,
                TimeProvider.System,
                NullLoggerFactory.Instance);
            Assert.IsTrue(await bundles.WaitForBundlesAsync(Eventually.Deadline, context.CancellationToken), "the server's own bundle came first");

            // As a SPIRE agent with a federated trust domain would push it (the development server serves one domain).
            bundles.Apply(Response(("spiffe://example.org", Jwks(OurKey, OurRsaKey)), ("spiffe://partner.test", Jwks(PartnerKey))));
            return new Bed(server, connection, bundles, validator);
        }

        public async ValueTask DisposeAsync()
        {
            Bundles.Dispose();
            _connection.Dispose();
            await _server.DisposeAsync();
        }
    }
}
