using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureComms.Testing;

namespace SecureComms.Tests.Tokens;

/// <summary>The development token server refuses what a real authorization server would, and issues RFC 9068 tokens.</summary>
[TestClass]
public sealed class DevelopmentTokenServerTests
{
    [TestMethod]
    public async Task IssuedToken_IsAnRfc9068JwtSignedByAPublishedKey_AndBoundToTheClientCertificate()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());
        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);

        TokenValidationResult result = await ValidateAsync(bed, token.Value);

        Assert.IsTrue(result.IsValid, result.Exception?.Message);
        var jwt = (JsonWebToken)result.SecurityToken;
        Assert.AreEqual("at+jwt", jwt.Typ);
        Assert.AreEqual("orders", jwt.Subject);
        Assert.AreEqual("orders", jwt.GetClaim("client_id").Value);
        Assert.AreEqual("invoices.read", jwt.GetClaim("scope").Value);
        Assert.IsFalse(string.IsNullOrEmpty(jwt.Id));
        Assert.AreEqual(bed.Certificates.Current.Sha256Thumbprint, TokenTestBed.BoundThumbprint(token));
    }

    [TestMethod]
    [DataRow("wrong SPIFFE ID", "invalid_client", DisplayName = "tls_client_auth with another workload's SVID")]
    [DataRow("other CA", "invalid_client", DisplayName = "tls_client_auth with a certificate from another CA")]
    [DataRow("unknown client", "invalid_client", DisplayName = "unknown client_id")]
    [DataRow("scope", "invalid_scope", DisplayName = "scope not allowed")]
    [DataRow("resource", "invalid_target", DisplayName = "resource not allowed")]
    [DataRow("self-signed mismatch", "invalid_client", DisplayName = "self_signed_tls_client_auth with an unregistered certificate")]
    public async Task BadTokenRequest_IsRefusedWithTheRightOAuthError(string attack, string expectedError)
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync(clients: (ca, orders) =>
        [
            new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TokenTestBed.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [TokenTestBed.Billing.OriginalString] },
            new DevelopmentClient { ClientId = "billing", TlsClientAuthSanUri = SpiffeId.Parse("spiffe://example.org/billing"), AllowedScopes = ["invoices.read"], AllowedResources = [TokenTestBed.Billing.OriginalString] },
            new DevelopmentClient { ClientId = "pinned", Authentication = TokenClientAuthentication.SelfSignedTlsClientAuth, RegisteredCertificate = ca.IssueSvid(TokenTestBed.Orders).Certificate, AllowedScopes = ["invoices.read"], AllowedResources = [TokenTestBed.Billing.OriginalString] },
        ]);
        using var otherCa = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        AccessTokenOptions options = bed.Options(o => o.MaxRetries = 0);
        switch (attack)
        {
            case "wrong SPIFFE ID": options.ClientId = "billing"; break; // orders' SVID presented for billing's registration
            case "other CA": bed.Certificates.Update(otherCa.IssueSvid(TokenTestBed.Orders)); break;
            case "unknown client": options.ClientId = "nobody"; break;
            case "scope": options.Scope = "invoices.delete"; break;
            case "resource": options.Resource = new Uri("https://payments.example.org"); break;
            default: options.ClientId = "pinned"; options.ClientAuthentication = TokenClientAuthentication.SelfSignedTlsClientAuth; break;
        }

        using CertificateBoundTokenProvider provider = bed.Provider(options);

        TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask(), attack);
        Assert.AreEqual(expectedError, error.Error, attack);
    }

    [TestMethod]
    public async Task ReplayedClientAssertion_IsRefused()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync(clients: (_, orders) =>
        [
            new DevelopmentClient { ClientId = "orders-jwt", Authentication = TokenClientAuthentication.PrivateKeyJwt, RegisteredCertificate = orders.Certificate, AllowedResources = [TokenTestBed.Billing.OriginalString] },
        ]);
        string assertion = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "orders-jwt",
            Audience = bed.Server.TokenEndpoint.ToString(),
            Expires = DateTime.UtcNow.AddMinutes(1),
            Claims = new Dictionary<string, object> { ["sub"] = "orders-jwt", ["jti"] = "same-every-time" },
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(bed.Certificates.Current.Certificate.GetECDsaPrivateKey()!), SecurityAlgorithms.EcdsaSha256),
        });
        using HttpClient client = RawClient(bed);
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = "orders-jwt",
            ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ["client_assertion"] = assertion,
        };

        HttpResponseMessage first = await client.PostAsync(bed.Server.TokenEndpoint, new FormUrlEncodedContent(form));
        HttpResponseMessage replay = await client.PostAsync(bed.Server.TokenEndpoint, new FormUrlEncodedContent(form));

        Assert.AreEqual(HttpStatusCode.OK, first.StatusCode, await first.Content.ReadAsStringAsync());
        Assert.AreEqual(HttpStatusCode.Unauthorized, replay.StatusCode);
        Assert.Contains("already used", await replay.Content.ReadAsStringAsync());
    }

    [TestMethod]
    public async Task SigningKeyRotation_SignsWithTheNewKey_AndKeepsTheOldOnePublished()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        string firstKid = bed.Server.PublishedKeyIds[0];

        bed.Server.RotateSigningKey();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());
        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);

        Assert.HasCount(2, bed.Server.PublishedKeyIds);
        Assert.AreEqual(firstKid, bed.Server.PublishedKeyIds[0], "the old key is still published");
        Assert.AreEqual(bed.Server.PublishedKeyIds[1], new JsonWebToken(token.Value).Kid);
        Assert.IsTrue((await ValidateAsync(bed, token.Value)).IsValid);
    }

    [TestMethod]
    public async Task SigningKeyRotation_ThatRetiresTheOldKey_PublishesOnlyTheNewOne_AndOldTokensNoLongerVerify()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider before = bed.Provider(bed.Options());
        AccessToken oldToken = await before.GetTokenAsync(CancellationToken.None);
        string firstKid = bed.Server.PublishedKeyIds[0];
        int jwksFetches = bed.Server.JwksRequestCount;

        bed.Server.RotateSigningKey(retirePreviousKeys: true);
        using CertificateBoundTokenProvider after = bed.Provider(bed.Options());
        AccessToken newToken = await after.GetTokenAsync(CancellationToken.None);

        Assert.HasCount(1, bed.Server.PublishedKeyIds);
        Assert.AreNotEqual(firstKid, bed.Server.PublishedKeyIds[0]);
        Assert.AreEqual(bed.Server.PublishedKeyIds[0], new JsonWebToken(newToken.Value).Kid);
        Assert.IsTrue((await ValidateAsync(bed, newToken.Value)).IsValid);
        Assert.IsFalse((await ValidateAsync(bed, oldToken.Value)).IsValid, "the retired key is gone from the JWKS");
        Assert.AreEqual(jwksFetches + 2, bed.Server.JwksRequestCount, "each JWKS fetch is counted");
    }

    [TestMethod]
    [DataRow(true, true, DisplayName = "nbf and iat (default)")]
    [DataRow(false, true, DisplayName = "no nbf, as node-oidc-provider issues them")]
    [DataRow(false, false, DisplayName = "neither nbf nor iat")]
    public async Task IssuedTokens_CarryNbfAndIat_OnlyWhenConfigured(bool includeNotBefore, bool includeIssuedAt)
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync(includeNotBefore: includeNotBefore, includeIssuedAt: includeIssuedAt);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());

        var token = new JsonWebToken((await provider.GetTokenAsync(CancellationToken.None)).Value);

        Assert.AreEqual(includeNotBefore, token.TryGetPayloadValue("nbf", out long _));
        Assert.AreEqual(includeIssuedAt, token.TryGetPayloadValue("iat", out long _));
        Assert.IsTrue(token.TryGetPayloadValue("exp", out long _));
        Assert.IsTrue((await ValidateAsync(bed, token.EncodedToken)).IsValid);
    }

    [TestMethod]
    public async Task Metadata_AdvertisesBoundTokensAndTheMtlsAlias()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using HttpClient client = RawClient(bed);

        using JsonDocument metadata = JsonDocument.Parse(await client.GetStringAsync(new Uri(bed.Server.Issuer, "/.well-known/oauth-authorization-server")));

        Assert.IsTrue(metadata.RootElement.GetProperty("tls_client_certificate_bound_access_tokens").GetBoolean());
        Assert.AreEqual(new Uri(bed.Server.Issuer, "/mtls/token").ToString(), metadata.RootElement.GetProperty("mtls_endpoint_aliases").GetProperty("token_endpoint").GetString());
        Assert.Contains("self_signed_tls_client_auth", metadata.RootElement.GetProperty("token_endpoint_auth_methods_supported").ToString());
    }

    private static async Task<TokenValidationResult> ValidateAsync(TokenTestBed bed, string token)
    {
        using HttpClient client = RawClient(bed);
        var keys = new JsonWebKeySet(await client.GetStringAsync(bed.Server.JwksUri));
        return await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = bed.Server.Issuer.GetLeftPart(UriPartial.Authority),
            ValidAudience = TokenTestBed.Billing.OriginalString,
            IssuerSigningKeys = keys.GetSigningKeys(),
            ValidTypes = ["at+jwt"],
        });
    }

    /// <summary>A plain client presenting orders' SVID and trusting only the test CA for the server.</summary>
    private static HttpClient RawClient(TokenTestBed bed)
    {
        X509Certificate2 root = bed.Ca.Certificate;
        return new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [bed.Certificates.Current.Certificate],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(root);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return certificate is X509Certificate2 leaf && chain.Build(leaf);
                },
            },
        });
    }
}
