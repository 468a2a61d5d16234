using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using SecureComms.Testing;
using SecureComms.Tests.Fakes;

namespace SecureComms.Tests.Tokens.Interop;

/// <summary>
/// SecureComms acquires certificate-bound tokens from a real, OpenID-certified authorization server
/// (node-oidc-provider with its mTLS feature), with each client authentication method, and the token's
/// <c>cnf.x5t#S256</c> names the certificate that was used.
/// </summary>
[TestClass]
public sealed class NodeOidcProviderInteropTests
{
    private const string Resource = "https://billing.example.org";

    [TestMethod]
    [DataRow(TokenClientAuthentication.TlsClientAuth, DisplayName = "tls_client_auth (SPIFFE ID URI SAN)")]
    [DataRow(TokenClientAuthentication.SelfSignedTlsClientAuth, DisplayName = "self_signed_tls_client_auth")]
    [DataRow(TokenClientAuthentication.PrivateKeyJwt, DisplayName = "private_key_jwt over mTLS")]
    public async Task TokenFromNodeOidcProvider_IsBoundToTheCertificateUsed(TokenClientAuthentication method)
    {
        NodeOidcProvider.RequireOrSkip();
        using var dir = new TemporaryFolder();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        WorkloadCertificate orders = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/orders"));
        string clientId = method.ToString().ToLowerInvariant();
        await using NodeOidcProvider provider = await StartProviderAsync(dir, ca, Registration(clientId, method, orders));

        var certificates = new InMemoryCertificateSource(orders);
        var options = new AccessTokenOptions
        {
            Authority = provider.Issuer,
            ExpectedServer = "spiffe://example.org/token-server",
            ClientId = clientId,
            ClientAuthentication = method,
            Scope = "invoices.read",
            Resource = new Uri(Resource),
            MaxRetries = 0,
        };
        using CertificateBoundTokenProvider tokens = Provider(clientId, options, certificates, ca);

        AccessToken token;
        try
        {
            token = await tokens.GetTokenAsync(CancellationToken.None);
        }
        catch (TokenAcquisitionException ex)
        {
            throw new AssertFailedException($"{ex.Message} — provider said: {provider.Errors}", ex);
        }

        string expected = Base64Url.EncodeToString(SHA256.HashData(orders.Certificate.RawData));
        Assert.AreEqual(expected, TokenTestBed.BoundThumbprint(token), "cnf.x5t#S256 is the SHA-256 of the certificate presented");
        Assert.HasCount(3, token.Value.Split('.'), "a JWT access token (RFC 9068)");
        Assert.IsGreaterThan(token.IssuedAt, token.ExpiresAt);
    }

    [TestMethod]
    public async Task WrongSpiffeId_ForATlsClientAuthRegistration_IsRefusedAsInvalidClient()
    {
        NodeOidcProvider.RequireOrSkip();
        using var dir = new TemporaryFolder();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        WorkloadCertificate analytics = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/analytics"));
        await using NodeOidcProvider provider = await StartProviderAsync(dir, ca, Registration("orders", TokenClientAuthentication.TlsClientAuth, ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/orders"))));
        var certificates = new InMemoryCertificateSource(analytics); // analytics presents its own SVID for orders' client_id
        var options = new AccessTokenOptions { Authority = provider.Issuer, ExpectedServer = "spiffe://example.org/token-server", ClientId = "orders", Resource = new Uri(Resource), MaxRetries = 0 };
        using CertificateBoundTokenProvider tokens = Provider("orders", options, certificates, ca);

        TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => tokens.GetTokenAsync(CancellationToken.None).AsTask());

        Assert.AreEqual("invalid_client", error.Error);
    }

    [TestMethod]
    public async Task UnknownScope_SilentlyDroppedByNodeOidcProvider_IsRefusedAsScopeNotGranted()
    {
        NodeOidcProvider.RequireOrSkip();
        using var dir = new TemporaryFolder();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        WorkloadCertificate orders = ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/orders"));
        await using NodeOidcProvider provider = await StartProviderAsync(dir, ca, Registration("orders", TokenClientAuthentication.TlsClientAuth, orders));
        var options = new AccessTokenOptions
        {
            Authority = provider.Issuer,
            ExpectedServer = "spiffe://example.org/token-server",
            ClientId = "orders",
            Scope = "invoices.read invoices.delete", // invoices.delete is unknown to the provider
            Resource = new Uri(Resource),
            MaxRetries = 0,
        };
        using CertificateBoundTokenProvider tokens = Provider("orders", options, new InMemoryCertificateSource(orders), ca);

        TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => tokens.GetTokenAsync(CancellationToken.None).AsTask());

        Assert.AreEqual("scope_not_granted", error.Error, $"{error.Message} — provider said: {provider.Errors}");
        Assert.Contains("but not 'invoices.delete'", error.Message);
    }

    /// <summary>Starts node-oidc-provider serving an SVID of the test CA, with one registered client.</summary>
    private static Task<NodeOidcProvider> StartProviderAsync(TemporaryFolder dir, DevelopmentCertificateAuthority ca, Dictionary<string, object> client)
    {
        DevelopmentCertificateAuthority.WriteCertificatePem(ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/token-server")), dir.File("server.pem"), dir.File("server.key"));
        ca.WriteTrustBundlePem(dir.File("ca.pem"));
        return NodeOidcProvider.StartAsync(
            new
            {
                serverCertPath = dir.File("server.pem"),
                serverKeyPath = dir.File("server.key"),
                caPath = dir.File("ca.pem"),
                resource = Resource,
                scopes = new[] { "invoices.read" },
                clients = new[] { client },
            },
            dir.Path);
    }

    /// <summary>A token provider talking to the provider over mTLS, trusting its SVID through the test CA's bundle.</summary>
    private static CertificateBoundTokenProvider Provider(string clientId, AccessTokenOptions options, InMemoryCertificateSource certificates, DevelopmentCertificateAuthority ca)
    {
        var validator = new PeerCertificateValidator(new StaticTrustBundleSource(ca.CreateTrustBundle()), TimeProvider.System);
        var transport = new MtlsClientHandler($"{clientId} (token endpoint)", new SecureClientOptions(), SpiffeIdAuthorizer.Parse(options.ExpectedServer!), certificates, validator, TimeProvider.System, NullLogger.Instance);
        return new CertificateBoundTokenProvider(clientId, options, certificates, new TokenEndpointClient(clientId, options, transport, TimeProvider.System, NullLogger.Instance), TimeProvider.System, NullLogger.Instance);
    }

    private static Dictionary<string, object> Registration(string clientId, TokenClientAuthentication method, WorkloadCertificate certificate)
    {
        var registration = new Dictionary<string, object> { ["client_id"] = clientId, ["scope"] = "invoices.read" };
        switch (method)
        {
            case TokenClientAuthentication.TlsClientAuth:
                registration["token_endpoint_auth_method"] = "tls_client_auth";
                registration["tls_client_auth_san_uri"] = certificate.SpiffeId.ToString();
                break;
            case TokenClientAuthentication.SelfSignedTlsClientAuth:
                registration["token_endpoint_auth_method"] = "self_signed_tls_client_auth";
                registration["jwks"] = new { keys = new[] { Jwk(certificate, withCertificate: true) } };
                break;
            default:
                registration["token_endpoint_auth_method"] = "private_key_jwt";
                registration["token_endpoint_auth_signing_alg"] = "ES256";
                registration["jwks"] = new { keys = new[] { Jwk(certificate, withCertificate: false) } };
                break;
        }

        return registration;
    }

    private static Dictionary<string, object> Jwk(WorkloadCertificate certificate, bool withCertificate)
    {
        using ECDsa key = certificate.Certificate.GetECDsaPublicKey()!;
        ECParameters p = key.ExportParameters(includePrivateParameters: false);
        var jwk = new Dictionary<string, object>
        {
            ["kty"] = "EC",
            ["crv"] = "P-256",
            ["x"] = Base64Url.EncodeToString(p.Q.X!),
            ["y"] = Base64Url.EncodeToString(p.Q.Y!),
        };
        if (withCertificate)
        {
            jwk["x5c"] = new[] { Convert.ToBase64String(certificate.Certificate.RawData) };
        }
        else
        {
            jwk["kid"] = certificate.Sha256Thumbprint; // SecureComms signs client assertions with kid = the SVID's x5t#S256
        }

        return jwk;
    }
}
