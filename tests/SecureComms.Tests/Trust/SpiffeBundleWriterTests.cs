using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using SecureComms.Testing;

namespace SecureComms.Tests.Trust;

/// <summary>Trust bundles written in the SPIFFE bundle format (Trust Domain and Bundle §4), and read back.</summary>
[TestClass]
public sealed class SpiffeBundleWriterTests
{
    private static readonly TrustDomain ExampleOrg = TrustDomain.Parse("example.org");
    private static readonly Lazy<DevelopmentCertificateAuthority> Ca = new(() => DevelopmentCertificateAuthority.Create(ExampleOrg));
    private static readonly Lazy<DevelopmentCertificateAuthority> NextCa = new(() => DevelopmentCertificateAuthority.Create(ExampleOrg));

    [TestMethod]
    public void ASpiffeBundle_RoundTrips_WithSequenceAndRefreshHint_AndNoKid()
    {
        var original = new TrustBundle(ExampleOrg, [Ca.Value.Certificate, NextCa.Value.Certificate]);

        string json = SpiffeBundleWriter.ToJson(original, sequence: 42, refreshHint: TimeSpan.FromMinutes(5));
        TrustBundle parsed = TrustBundleLoader.ParseSpiffeBundle(ExampleOrg, Encoding.UTF8.GetBytes(json));

        Assert.AreSequenceEqual(
            original.Authorities.Select(a => a.Thumbprint).ToArray(),
            parsed.Authorities.Select(a => a.Thumbprint).ToArray());
        JsonNode document = JsonNode.Parse(json)!;
        Assert.AreEqual(42UL, document["spiffe_sequence"]!.GetValue<ulong>());
        Assert.AreEqual(300L, document["spiffe_refresh_hint"]!.GetValue<long>());
        JsonObject key = document["keys"]![0]!.AsObject();
        Assert.AreEqual("x509-svid", key["use"]!.GetValue<string>());
        Assert.AreEqual("EC", key["kty"]!.GetValue<string>());
        Assert.AreEqual("P-256", key["crv"]!.GetValue<string>());
        Assert.IsFalse(key.ContainsKey("kid"), "X509-SVID §6.1: kid MUST NOT be set");
        Assert.AreEqual(Convert.ToBase64String(Ca.Value.Certificate.RawData), key["x5c"]![0]!.GetValue<string>(), "x5c is standard base64 DER");
    }

    [TestMethod]
    public void AnRsaAuthority_RoundTripsWithItsModulusAndExponent()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=rsa-root", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        using X509Certificate2 root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        string json = SpiffeBundleWriter.ToJson(new TrustBundle(ExampleOrg, [root]));

        Assert.AreEqual(root.Thumbprint, TrustBundleLoader.ParseSpiffeBundle(ExampleOrg, Encoding.UTF8.GetBytes(json)).Authorities[0].Thumbprint);
        JsonNode jwk = JsonNode.Parse(json)!["keys"]![0]!;
        Assert.AreEqual("RSA", jwk["kty"]!.GetValue<string>());
        Assert.AreEqual("AQAB", jwk["e"]!.GetValue<string>());
        Assert.IsNotNull(jwk["n"]);
    }
}
