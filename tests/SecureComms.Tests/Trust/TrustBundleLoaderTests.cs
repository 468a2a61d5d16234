using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.Testing;

namespace SecureComms.Tests.Trust;

/// <summary>Trust bundles from PEM files and from the SPIFFE bundle format (Trust Domain and Bundle §4).</summary>
[TestClass]
public sealed class TrustBundleLoaderTests
{
    private static readonly TrustDomain ExampleOrg = TrustDomain.Parse("example.org");
    private static readonly Lazy<DevelopmentCertificateAuthority> Ca = new(() => DevelopmentCertificateAuthority.Create(ExampleOrg));
    private static readonly Lazy<DevelopmentCertificateAuthority> NextCa = new(() => DevelopmentCertificateAuthority.Create(ExampleOrg));

    private static string X5c(X509Certificate2 certificate) => Convert.ToBase64String(certificate.RawData);

    private static TrustBundle Parse(string json) => TrustBundleLoader.ParseSpiffeBundle(ExampleOrg, Encoding.UTF8.GetBytes(json));

    [TestMethod]
    public void APemBundleWithTwoAuthorities_LoadsBoth()
    {
        using var dir = new TemporaryFolder();
        File.WriteAllText(dir.File("bundle.pem"), Ca.Value.Certificate.ExportCertificatePem() + "\n" + NextCa.Value.Certificate.ExportCertificatePem() + "\n");

        TrustBundle bundle = TrustBundleLoader.LoadPem(ExampleOrg, dir.File("bundle.pem"));

        Assert.AreEqual(ExampleOrg, bundle.TrustDomain);
        Assert.AreSequenceEqual(new[] { Ca.Value.Certificate.Thumbprint, NextCa.Value.Certificate.Thumbprint }, bundle.Authorities.Select(a => a.Thumbprint).ToArray());
    }

    [TestMethod]
    public void AnIntermediateCa_IsAcceptedAsAnAuthority()
    {
        using var dir = new TemporaryFolder();
        using DevelopmentCertificateAuthority intermediate = Ca.Value.CreateIntermediate();
        File.WriteAllText(dir.File("bundle.pem"), intermediate.Certificate.ExportCertificatePem());

        Assert.HasCount(1, TrustBundleLoader.LoadPem(ExampleOrg, dir.File("bundle.pem")).Authorities);
    }

    [TestMethod]
    public void ALeafInAPemBundle_IsRefused_NamingTheFileAndTheCertificatesPosition()
    {
        using var dir = new TemporaryFolder();
        File.WriteAllText(
            dir.File("bundle.pem"),
            Ca.Value.Certificate.ExportCertificatePem() + "\n" + Ca.Value.IssueSvid(SpiffeId.Parse("spiffe://example.org/x")).Certificate.ExportCertificatePem());

        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => TrustBundleLoader.LoadPem(ExampleOrg, dir.File("bundle.pem")));

        Assert.AreEqual(
            $"certificate 2 in the trust bundle '{dir.File("bundle.pem")}' is not a CA certificate (basic constraints cA=true); a trust bundle holds only authorities.",
            error.Message);
    }

    [TestMethod]
    [DataRow("", "holds no PEM CERTIFICATE block", DisplayName = "empty file")]
    [DataRow("cut", "ends in an incomplete PEM block", DisplayName = "second authority cut short")]
    [DataRow("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", "malformed PEM block", DisplayName = "damaged block")]
    public void AnUnusablePemBundle_IsRefused_NamingTheFile(string content, string problem)
    {
        using var dir = new TemporaryFolder();
        string both = Ca.Value.Certificate.ExportCertificatePem() + "\n" + NextCa.Value.Certificate.ExportCertificatePem() + "\n";
        File.WriteAllText(dir.File("bundle.pem"), content == "cut" ? both[..(both.Length - 100)] : content);

        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => TrustBundleLoader.LoadPem(ExampleOrg, dir.File("bundle.pem")));

        Assert.Contains(dir.File("bundle.pem"), error.Message);
        Assert.Contains(problem, error.Message);
    }

    [TestMethod]
    public void AMissingBundleFile_IsRefused_NamingIt()
    {
        using var dir = new TemporaryFolder();

        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => TrustBundleLoader.LoadPem(ExampleOrg, dir.File("bundle.pem")));

        Assert.AreEqual($"cannot read the trust bundle '{dir.File("bundle.pem")}' of example.org: file not found.", error.Message);
    }

    [TestMethod]
    public void JwtSvidKeysAndUnknownUsesAndKeyTypes_AreIgnored_AndTheX509AuthoritiesKept()
    {
        string json = $$"""
        {"spiffe_sequence": 7, "spiffe_refresh_hint": 300, "keys": [
          {"use": "jwt-svid", "kty": "EC", "kid": "abc", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
          {"use": "x509-svid", "kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "x5c": ["{{X5c(Ca.Value.Certificate)}}"]},
          {"use": "wit-svid", "kty": "EC", "kid": "wit"},
          {"use": "something-new", "kty": "EC"},
          {"use": "X509-SVID", "kty": "EC", "x5c": ["uses are case-sensitive, so this one is ignored"]},
          {"use": "x509-svid", "kty": "PQC-2030", "x5c": ["an unknown key type makes the element ignored"]},
          {"kty": "EC"}
        ], "some_future_member": {"nested": true }
        }
        """;

        TrustBundle bundle = Parse(json);

        Assert.HasCount(1, bundle.Authorities);
        Assert.AreEqual(Ca.Value.Certificate.Thumbprint, bundle.Authorities[0].Thumbprint);
    }

    [TestMethod]
    public void TheSameAuthorityTwice_IsKeptOnce()
    {
        string key = $$"""{"use": "x509-svid", "kty": "EC", "x5c": ["{{X5c(Ca.Value.Certificate)}}"]}""";

        Assert.HasCount(1, Parse($$"""{"keys": [{{key}}, {{key}}]}""").Authorities);
    }

    [TestMethod]
    public void AByteOrderMark_IsAccepted()
    {
        byte[] json = [.. Encoding.UTF8.Preamble, .. Encoding.UTF8.GetBytes(SpiffeBundleWriter.ToJson(Ca.Value.CreateTrustBundle()))];

        Assert.HasCount(1, TrustBundleLoader.ParseSpiffeBundle(ExampleOrg, json).Authorities);
    }

    [TestMethod]
    [DataRow("not json", "is not valid JSON")]
    [DataRow("""[]""", "is not a JSON object")]
    [DataRow("""{"nokeys": []}""", "has no 'keys' array")]
    [DataRow("""{"keys": {}}""", "has no 'keys' array")]
    [DataRow("""{"keys": [], "keys": []}""", "is not valid JSON")]
    [DataRow("""{"keys": ["x509-svid"]}""", "key 1 of the SPIFFE bundle (in-memory SPIFFE bundle) is not a JSON object")]
    [DataRow("""{"keys": [{"use": "x509-svid", "kty": "EC", "x5c": []}]}""", "without exactly one x5c certificate")]
    [DataRow("""{"keys": [{"use": "x509-svid", "kty": "EC", "x5c": ["AA==", "AA=="]}]}""", "without exactly one x5c certificate")]
    [DataRow("""{"keys": [{"use": "x509-svid", "kty": "EC"}]}""", "without exactly one x5c certificate")]
    [DataRow("""{"keys": [{"use": "x509-svid", "kty": "EC", "x5c": ["!!notbase64"]}]}""", "has an unreadable x5c certificate")]
    [DataRow("""{"keys": [{"use": "jwt-svid", "kty": "EC", "kid": "a"}]}""", "has no x509-svid authority")]
    [DataRow("""{"keys": []}""", "has no x509-svid authority")]
    [DataRow("""{"spiffe_sequence": "1", "keys": []}""", "'spiffe_sequence' that is not a non-negative integer")]
    [DataRow("""{"spiffe_sequence": -1, "keys": []}""", "'spiffe_sequence' that is not a non-negative integer")]
    [DataRow("""{"spiffe_refresh_hint": 1.5, "keys": []}""", "'spiffe_refresh_hint' that is not an integer")]
    [DataRow("""{"keys": [{"use": "x509-svid", "kty": "EC", "x5c": ["\ud800"]}]}""", "holds a string that is not valid UTF-8 text", DisplayName = "an escaped lone surrogate")]
    public void AMalformedSpiffeBundle_IsRefused_SayingWhy(string json, string problem)
    {
        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => Parse(json));

        Assert.Contains("(in-memory SPIFFE bundle)", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [TestMethod]
    public void ALeafInASpiffeBundle_IsRefused()
    {
        string json = $$"""{"keys": [{"use": "x509-svid", "kty": "EC", "x5c": ["{{X5c(Ca.Value.IssueSvid(SpiffeId.Parse("spiffe://example.org/x")).Certificate)}}"]}]}""";

        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => Parse(json));

        Assert.Contains("key 1 of the SPIFFE bundle", error.Message);
        Assert.Contains("is not a CA certificate", error.Message);
    }

    [TestMethod]
    public void AMalformedSpiffeBundleFile_IsRefused_NamingTheFile_AndNeverQuotingIt()
    {
        using var dir = new TemporaryFolder();
        File.WriteAllText(dir.File("bundle.json"), "{\n  \"keys\": [ {\"use\": \"x509-svid\", \"secret-looking\": \"MIIB");

        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => TrustBundleLoader.LoadSpiffeBundle(ExampleOrg, dir.File("bundle.json")));

        Assert.StartsWith($"the SPIFFE bundle '{dir.File("bundle.json")}' is not valid JSON", error.Message);
        Assert.DoesNotContain("MIIB", error.Message);
    }

    [TestMethod]
    [DataRow(true, DisplayName = "corrupt basic constraints extension")]
    [DataRow(false, DisplayName = "corrupt public key")]
    public void ACorruptAuthorityInAPemBundle_IsRefused_NamingTheFileAndPosition(bool corruptExtension)
    {
        using var dir = new TemporaryFolder();
        using X509Certificate2 corrupt = CorruptAuthority(corruptExtension);
        File.WriteAllText(dir.File("bundle.pem"), Ca.Value.Certificate.ExportCertificatePem() + "\n" + corrupt.ExportCertificatePem() + "\n");

        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => TrustBundleLoader.LoadPem(ExampleOrg, dir.File("bundle.pem")));

        Assert.StartsWith($"certificate 2 in the trust bundle '{dir.File("bundle.pem")}' is corrupted", error.Message);
    }

    [TestMethod]
    public void ACorruptAuthorityInASpiffeBundle_IsRefused_NamingTheKey()
    {
        using X509Certificate2 corrupt = CorruptAuthority(corruptExtension: true);
        string json = $$"""{"keys": [{"use": "x509-svid", "kty": "EC", "x5c": ["{{X5c(corrupt)}}"]}]}""";

        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => Parse(json));

        Assert.StartsWith("key 1 of the SPIFFE bundle (in-memory SPIFFE bundle) is corrupted", error.Message);
    }

    [TestMethod]
    public void ACorruptAuthorityInAConfiguredBundleFile_StopsStartup_NamingTheKeyAndTheFile()
    {
        using var dir = new TemporaryFolder();
        using X509Certificate2 corrupt = CorruptAuthority(corruptExtension: true);
        File.WriteAllText(dir.File("bundle.pem"), corrupt.ExportCertificatePem());
        DevelopmentCertificateAuthority.WriteCertificatePem(Ca.Value.IssueSvid(SpiffeId.Parse("spiffe://example.org/x")), dir.File("svid.pem"), dir.File("svid.key"));
        var services = new ServiceCollection();
        services.AddSecureCommsCore(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Certificate:CertificatePath"] = dir.File("svid.pem"),
            ["SecureComms:Certificate:KeyPath"] = dir.File("svid.key"),
            ["SecureComms:TrustBundles:example.org:Path"] = dir.File("bundle.pem"),
        }).Build());
        using ServiceProvider provider = services.BuildServiceProvider();

        InvalidOperationException error = Assert.ThrowsExactly<InvalidOperationException>(() => provider.GetRequiredService<ITrustBundleSource>());

        Assert.StartsWith("SecureComms:TrustBundles:example.org:Path: ", error.Message);
        Assert.Contains(dir.File("bundle.pem"), error.Message);
        Assert.Contains("is corrupted", error.Message);
    }

    /// <summary>
    /// A CA certificate whose DER parses and whose signature is good, but whose basic constraints extension or public
    /// key does not decode: what a damaged or badly generated bundle file holds.
    /// </summary>
    private static X509Certificate2 CorruptAuthority(bool corruptExtension)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedName("CN=Corrupt CA");
        var good = new PublicKey(key);
        CertificateRequest request = corruptExtension
            ? new CertificateRequest(subject, key, HashAlgorithmName.SHA256)
            : new CertificateRequest(subject, new PublicKey(good.Oid, good.EncodedParameters, new AsnEncodedData([0x04, 0x01, 0x02])), HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(corruptExtension
            ? new X509Extension("2.5.29.19", [0x30, 0x05, 0x01], critical: true) // basic constraints cut short
            : new X509BasicConstraintsExtension(true, false, 0, critical: true));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return request.Create(subject, X509SignatureGenerator.CreateForECDsa(key), now.AddMinutes(-5), now.AddDays(1), [1, 2, 3, 4]);
    }
}
