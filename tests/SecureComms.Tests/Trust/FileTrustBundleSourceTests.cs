using SecureComms.Testing;

namespace SecureComms.Tests.Trust;

/// <summary>Bundles of several trust domains from files, reloaded on change, never replaced by a bad read.</summary>
[TestClass]
public sealed class FileTrustBundleSourceTests
{
    private static readonly TrustDomain ExampleOrg = TrustDomain.Parse("example.org");
    private static readonly TrustDomain PartnerOrg = TrustDomain.Parse("partner.org");
    private static readonly Lazy<DevelopmentCertificateAuthority> Example = new(() => DevelopmentCertificateAuthority.Create(ExampleOrg));
    private static readonly Lazy<DevelopmentCertificateAuthority> Partner = new(() => DevelopmentCertificateAuthority.Create(PartnerOrg));

    private static FileTrustBundleSource Open(FakeLogger<FileTrustBundleSource> logger, params TrustBundleFile[] files) =>
        new(files, TimeSpan.FromMilliseconds(100), TimeProvider.System, logger);

    private static string ThumbprintOf(FileTrustBundleSource source, TrustDomain trustDomain) =>
        source.Current.TryGetBundle(trustDomain, out TrustBundle? bundle) ? bundle.Authorities[0].Thumbprint : "(none)";

    private static void WriteAtomically(string path, string content)
    {
        File.WriteAllText(path + ".tmp", content);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    [TestMethod]
    public void TwoTrustDomains_InTwoFormats_AreServedByOneSource()
    {
        using var dir = new TemporaryFolder();
        Example.Value.WriteTrustBundlePem(dir.File("example.pem"));
        File.WriteAllText(dir.File("partner.json"), SpiffeBundleWriter.ToJson(Partner.Value.CreateTrustBundle()));
        var logger = new FakeLogger<FileTrustBundleSource>();

        using FileTrustBundleSource source = Open(
            logger,
            new TrustBundleFile(ExampleOrg, dir.File("example.pem"), TrustBundleFormat.Pem),
            new TrustBundleFile(PartnerOrg, dir.File("partner.json"), TrustBundleFormat.SpiffeBundle));

        Assert.AreEqual(Example.Value.Certificate.Thumbprint, ThumbprintOf(source, ExampleOrg));
        Assert.AreEqual(Partner.Value.Certificate.Thumbprint, ThumbprintOf(source, PartnerOrg));
        Assert.IsFalse(source.Current.TryGetBundle(TrustDomain.Parse("elsewhere.org"), out _), "no bundle, no trust");
        Assert.IsTrue(logger.Contains(1100, "example.org (1 CA), partner.org (1 CA)"));
    }

    [TestMethod]
    public void AnUnreadableFile_StopsStartUp_NamingIt()
    {
        using var dir = new TemporaryFolder();
        Example.Value.WriteTrustBundlePem(dir.File("example.pem"));
        File.WriteAllText(dir.File("partner.json"), "{ half written");

        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => Open(
            new FakeLogger<FileTrustBundleSource>(),
            new TrustBundleFile(ExampleOrg, dir.File("example.pem"), TrustBundleFormat.Pem),
            new TrustBundleFile(PartnerOrg, dir.File("partner.json"), TrustBundleFormat.SpiffeBundle)));

        Assert.Contains(dir.File("partner.json"), error.Message);
    }

    [TestMethod]
    public void TwoFilesForOneTrustDomain_StopStartUp_NamingBoth()
    {
        using var dir = new TemporaryFolder();
        Example.Value.WriteTrustBundlePem(dir.File("a.pem"));
        Example.Value.WriteTrustBundlePem(dir.File("b.pem"));

        TrustBundleException error = Assert.ThrowsExactly<TrustBundleException>(() => Open(
            new FakeLogger<FileTrustBundleSource>(),
            new TrustBundleFile(ExampleOrg, dir.File("a.pem"), TrustBundleFormat.Pem),
            new TrustBundleFile(ExampleOrg, dir.File("b.pem"), TrustBundleFormat.Pem)));

        Assert.Contains(dir.File("a.pem"), error.Message);
        Assert.Contains(dir.File("b.pem"), error.Message);
    }

    [TestMethod]
    public async Task ARewrittenBundle_IsReloaded_AndABadOneAfterItKeepsTheLastGoodSet_WithAWarning()
    {
        using var dir = new TemporaryFolder();
        Example.Value.WriteTrustBundlePem(dir.File("example.pem"));
        File.WriteAllText(dir.File("partner.json"), SpiffeBundleWriter.ToJson(Partner.Value.CreateTrustBundle()));
        var logger = new FakeLogger<FileTrustBundleSource>();
        using FileTrustBundleSource source = Open(
            logger,
            new TrustBundleFile(ExampleOrg, dir.File("example.pem"), TrustBundleFormat.Pem),
            new TrustBundleFile(PartnerOrg, dir.File("partner.json"), TrustBundleFormat.SpiffeBundle));
        Task fired = Eventually.FiresAsync(source.GetChangeToken(), "bundle rotation");

        using var rotatedPartner = DevelopmentCertificateAuthority.Create(PartnerOrg);
        WriteAtomically(dir.File("partner.json"), SpiffeBundleWriter.ToJson(rotatedPartner.CreateTrustBundle(), sequence: 2));

        await fired;
        Assert.AreEqual(rotatedPartner.Certificate.Thumbprint, ThumbprintOf(source, PartnerOrg));
        Assert.AreEqual(Example.Value.Certificate.Thumbprint, ThumbprintOf(source, ExampleOrg), "the other domain is reloaded unchanged");

        TrustBundleSet lastGood = source.Current;
        bool firedAgain = false;
        source.GetChangeToken().RegisterChangeCallback(_ => Volatile.Write(ref firedAgain, true), null);
        File.WriteAllText(dir.File("example.pem"), File.ReadAllText(dir.File("example.pem"))[..100]); // half-written, in place

        await Eventually.WaitUntilAsync(() => logger.CountOf(1101) > 0, "the warning about the unreadable bundle");
        Assert.AreSame(lastGood, source.Current, "a bad reload keeps the last good set");
        Assert.IsFalse(Volatile.Read(ref firedAgain));
        Assert.IsTrue(logger.Contains(1101, dir.File("example.pem")));
    }

    [TestMethod]
    public async Task AKubernetesStyleSymlinkSwap_OfABundle_IsPickedUp()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("uses rename(2) through 'mv -T'");
        }

        using var dir = new TemporaryFolder();
        var volume = new KubernetesStyleVolume(dir.Path);
        string v1 = volume.NewVersion();
        Example.Value.WriteTrustBundlePem(Path.Combine(v1, "ca.crt"));
        await volume.PublishAsync(v1);
        using FileTrustBundleSource source = Open(new FakeLogger<FileTrustBundleSource>(), new TrustBundleFile(ExampleOrg, volume.PathOf("ca.crt"), TrustBundleFormat.Pem));

        using var rotated = DevelopmentCertificateAuthority.Create(ExampleOrg);
        string v2 = volume.NewVersion();
        rotated.WriteTrustBundlePem(Path.Combine(v2, "ca.crt"));
        await volume.PublishAsync(v2);

        await Eventually.WaitUntilAsync(() => ThumbprintOf(source, ExampleOrg) == rotated.Certificate.Thumbprint, "the swapped bundle");
    }
}
