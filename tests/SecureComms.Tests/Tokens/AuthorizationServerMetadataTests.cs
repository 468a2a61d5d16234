using System.Text;

namespace SecureComms.Tests.Tokens;

[TestClass]
public sealed class AuthorizationServerMetadataTests
{
    private static readonly Uri Authority = new("https://auth.example.org");

    private static Uri Parse(string json) => AuthorizationServerMetadata.ParseTokenEndpoint(Encoding.UTF8.GetBytes(json), Authority);

    [TestMethod]
    public void MtlsAlias_IsPreferred_OverThePlainTokenEndpoint()
    {
        Uri endpoint = Parse("""{"issuer":"https://auth.example.org","token_endpoint":"https://auth.example.org/token","mtls_endpoint_aliases":{"token_endpoint":"https://mtls.auth.example.org/token"}}""");

        Assert.AreEqual(new Uri("https://mtls.auth.example.org/token"), endpoint);
    }

    [TestMethod]
    public void WithoutAlias_TheTokenEndpointIsUsed()
    {
        Assert.AreEqual(new Uri("https://auth.example.org/token"), Parse("""{"issuer":"https://auth.example.org/","token_endpoint":"https://auth.example.org/token"}"""));
    }

    [TestMethod]
    [DataRow("""{"issuer":"https://evil.example.org","token_endpoint":"https://evil.example.org/token"}""", "names issuer", DisplayName = "metadata of another issuer (RFC 8414 §3.3)")]
    [DataRow("""{"issuer":"https://auth.example.org","token_endpoint":"http://auth.example.org/token"}""", "https token_endpoint", DisplayName = "plaintext token endpoint")]
    [DataRow("""{"issuer":"https://auth.example.org"}""", "https token_endpoint", DisplayName = "no token endpoint")]
    [DataRow("{", "not valid JSON", DisplayName = "malformed")]
    public void UnusableMetadata_IsADiscoveryFailure(string json, string reason)
    {
        TokenAcquisitionException error = Assert.ThrowsExactly<TokenAcquisitionException>(() => Parse(json));

        Assert.AreEqual("discovery_failed", error.Error);
        Assert.Contains(reason, error.ErrorDescription!);
    }

    [TestMethod]
    [DataRow("https://auth.example.org", "/.well-known/oauth-authorization-server", "https://auth.example.org/.well-known/oauth-authorization-server")]
    [DataRow("https://auth.example.org/tenant1", "/.well-known/oauth-authorization-server", "https://auth.example.org/.well-known/oauth-authorization-server/tenant1")]
    [DataRow("https://auth.example.org/tenant1", "/.well-known/openid-configuration", "https://auth.example.org/tenant1/.well-known/openid-configuration")]
    public void MetadataAddress_FollowsRfc8414AndOpenIdDiscovery(string authority, string wellKnown, string expected)
    {
        Assert.AreEqual(new Uri(expected), AuthorizationServerMetadata.MetadataAddress(new Uri(authority), wellKnown));
    }
}
