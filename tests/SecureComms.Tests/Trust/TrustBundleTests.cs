using System.Diagnostics;
using System.Text;
using SecureComms.Testing;
using SecureComms.Tests.Fakes;

namespace SecureComms.Tests.Trust;

/// <summary>Bundles from PEM and the SPIFFE bundle format, several trust domains at once, reloaded on change.</summary>
[TestClass]
public sealed class TrustBundleTests
{
    private static readonly Lazy<DevelopmentCertificateAuthority> ExampleOrg = new(() => DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org")));
    private static readonly Lazy<DevelopmentCertificateAuthority> PartnerOrg = new(() => DevelopmentCertificateAuthority.Create(TrustDomain.Parse("partner.org")));

    [TestMethod]
    public void PemBundle_WithTwoAuthorities_LoadsBoth()
    {
        using var dir = new TempDirectory();
        using var second = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        File.WriteAllText(dir.File("bundle.pem"), ExampleOrg.Value.Certificate.ExportCertificatePem() + "\n" + second.Certificate.ExportCertificatePem());

        TrustBundle bundle = TrustBundleLoader.LoadPem(TrustDomain.Parse("example.org"), dir.File("bundle.pem"));

        Assert.AreEqual(2, bundle.Authorities.Count);
    }

    [TestMethod]
    public void PemBundle_HoldingALeaf_IsRefused()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("bundle.pem"), ExampleOrg.Value.IssueSvid(SpiffeId.Parse("spiffe://example.org/x")).Certificate.ExportCertificatePem());

        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => TrustBundleLoader.LoadPem(TrustDomain.Parse("example.org"), dir.File("bundle.pem")));

        StringAssert.Contains(error.Message, "not a CA certificate");
        StringAssert.Contains(error.Message, dir.File("bundle.pem"));
    }

    [TestMethod]
    public void SpiffeBundle_RoundTrips()
    {
        string json = TrustBundleLoader.ToSpiffeBundleJson(ExampleOrg.Value.CreateTrustBundle());

        TrustBundle parsed = TrustBundleLoader.ParseSpiffeBundle(TrustDomain.Parse("example.org"), Encoding.UTF8.GetBytes(json), "test");

        Assert.AreEqual(ExampleOrg.Value.Certificate.Thumbprint, parsed.Authorities[0].Thumbprint);
        StringAssert.Contains(json, "\"use\": \"x509-svid\"");
        StringAssert.Contains(json, "\"kty\": \"EC\"");
    }

    [TestMethod]
    public void SpiffeBundle_WithJwtSvidKeys_IgnoresThemAndKeepsTheX509Authorities()
    {
        string x5c = Convert.ToBase64String(ExampleOrg.Value.Certificate.RawData);
        string json = $$"""
        {"spiffe_sequence": 7, "spiffe_refresh_hint": 300, "keys": [
          {"use": "jwt-svid", "kty": "EC", "kid": "abc", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
          {"use": "x509-svid", "kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "x5c": ["{{x5c}}"]},
          {"use": "something-new", "kty": "EC"}
        ]}
        """;

        TrustBundle bundle = TrustBundleLoader.ParseSpiffeBundle(TrustDomain.Parse("example.org"), Encoding.UTF8.GetBytes(json), "test");

        Assert.AreEqual(1, bundle.Authorities.Count);
    }

    [TestMethod]
    [DataRow("not json", "not valid JSON")]
    [DataRow("""{"nokeys": []}""", "no 'keys' array")]
    [DataRow("""{"keys": [{"use": "x509-svid", "x5c": []}]}""", "exactly one x5c")]
    [DataRow("""{"keys": [{"use": "x509-svid", "x5c": ["!!notbase64"]}]}""", "unreadable x5c")]
    [DataRow("""{"keys": [{"use": "jwt-svid", "kty": "EC"}]}""", "no x509-svid authority")]
    public void MalformedSpiffeBundle_FailsNamingTheSourceAndTheProblem(string json, string problem)
    {
        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(
            () => TrustBundleLoader.ParseSpiffeBundle(TrustDomain.Parse("example.org"), Encoding.UTF8.GetBytes(json), "/etc/spiffe/bundle.json"));

        StringAssert.Contains(error.Message, "/etc/spiffe/bundle.json");
        StringAssert.Contains(error.Message, problem);
    }

    [TestMethod]
    public async Task FileSource_HoldsSeveralTrustDomains_AndReloadsOnChange_KeepingTheLastGoodSetOnABadOne()
    {
        using var dir = new TempDirectory();
        ExampleOrg.Value.WriteTrustBundlePem(dir.File("example.pem"));
        await File.WriteAllTextAsync(dir.File("partner.json"), TrustBundleLoader.ToSpiffeBundleJson(PartnerOrg.Value.CreateTrustBundle()));
        var logger = new ListLogger();
        using var source = new FileTrustBundleSource(
            [
                new TrustBundleFile(TrustDomain.Parse("example.org"), dir.File("example.pem"), TrustBundleFormat.Pem),
                new TrustBundleFile(TrustDomain.Parse("partner.org"), dir.File("partner.json"), TrustBundleFormat.SpiffeBundle),
            ],
            TimeSpan.FromMilliseconds(100),
            TimeProvider.System,
            new Microsoft.Extensions.Logging.Abstractions.NullLogger<FileTrustBundleSource>());

        Assert.IsTrue(source.Current.TryGetBundle(TrustDomain.Parse("example.org"), out _));
        Assert.IsTrue(source.Current.TryGetBundle(TrustDomain.Parse("partner.org"), out _));

        using var rotatedCa = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        rotatedCa.WriteTrustBundlePem(dir.File("example.pem"));
        await WaitUntilAsync(() => source.Current.TryGetBundle(TrustDomain.Parse("example.org"), out TrustBundle? b) && b.Authorities[0].Thumbprint == rotatedCa.Certificate.Thumbprint);

        TrustBundleSet lastGood = source.Current;
        await File.WriteAllTextAsync(dir.File("partner.json"), "{ half written");
        await Task.Delay(500);
        Assert.AreSame(lastGood, source.Current, "a bad reload keeps the last good set");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.IsTrue(watch.Elapsed < TimeSpan.FromSeconds(10), "not reached within 10 s");
            await Task.Delay(20);
        }
    }
}
