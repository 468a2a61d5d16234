using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;

namespace SecureComms.Tests.Certificates;

/// <summary>
/// Rotation on a real file system with real watchers and a 100 ms polling fallback: new certificates are picked up
/// without a restart, bad ones never replace the last good one. Waits are bounded polls, never fixed sleeps.
/// </summary>
[TestClass]
public sealed class CertificateRotationTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");
    private static readonly Lazy<DevelopmentCertificateAuthority> Root = new(() => DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org")));
    private static readonly Lazy<DevelopmentCertificateAuthority> Intermediate = new(() => Root.Value.CreateIntermediate());

    [TestMethod]
    public async Task FilesRewrittenAtomically_AreUsedWithoutARestart_AndTheChangeTokenFires()
    {
        using var dir = new TemporaryFolder();
        DevelopmentCertificateAuthority.WriteCertificatePem(Root.Value.IssueSvid(Orders), dir.File("svid.pem"), dir.File("svid.key"));
        var logger = new FakeLogger();
        using ReloadingCertificateSource source = PemFileCertificateSourceTests.Open(dir.File("svid.pem"), dir.File("svid.key"), logger);
        Task fired = Eventually.FiresAsync(source.GetChangeToken(), "rotation");

        WorkloadCertificate rotated = Root.Value.IssueSvid(Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(rotated, dir.File("svid.pem"), dir.File("svid.key"));

        await fired;
        Assert.AreEqual(rotated.Sha256Thumbprint, source.Current.Sha256Thumbprint);
        Assert.IsTrue(source.Current.Certificate.HasPrivateKey);
        Assert.AreEqual(0, logger.CountOf(1001), "an atomic rewrite is never seen half-done");
        Assert.IsTrue(logger.Contains(1000, rotated.Sha256Thumbprint[..16]), "the rotation is logged");
    }

    [TestMethod]
    public async Task AKubernetesStyleSymlinkSwap_IsPickedUp()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("uses rename(2) through 'mv -T'");
        }

        using var dir = new TemporaryFolder();
        var volume = new KubernetesStyleVolume(dir.Path);
        string v1 = volume.NewVersion();
        DevelopmentCertificateAuthority.WriteCertificatePem(Intermediate.Value.IssueSvid(Orders), Path.Combine(v1, "tls.crt"), Path.Combine(v1, "tls.key"));
        await volume.PublishAsync(v1);
        using ReloadingCertificateSource source = PemFileCertificateSourceTests.Open(volume.PathOf("tls.crt"), volume.PathOf("tls.key"));
        Task fired = Eventually.FiresAsync(source.GetChangeToken(), "symlink swap");

        WorkloadCertificate rotated = Intermediate.Value.IssueSvid(Orders);
        string v2 = volume.NewVersion();
        DevelopmentCertificateAuthority.WriteCertificatePem(rotated, Path.Combine(v2, "tls.crt"), Path.Combine(v2, "tls.key"));
        await volume.PublishAsync(v2);

        await fired;
        Assert.AreEqual(rotated.Sha256Thumbprint, source.Current.Sha256Thumbprint);
        Assert.HasCount(1, source.Current.Intermediates);
    }

    [TestMethod]
    [DataRow("half-written certificate", DisplayName = "half-written certificate file")]
    [DataRow("intermediate cut short", DisplayName = "certificate file whose intermediate is cut short")]
    [DataRow("mismatched pair", DisplayName = "certificate and key that do not match")]
    [DataRow("expired", DisplayName = "expired replacement")]
    [DataRow("not an SVID", DisplayName = "replacement without a SPIFFE ID")]
    public async Task ABadReplacement_IsIgnored_WithAWarning_AndTheNextGoodOneIsStillPickedUp(string defect)
    {
        using var dir = new TemporaryFolder();
        WorkloadCertificate good = Intermediate.Value.IssueSvid(Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(good, dir.File("svid.pem"), dir.File("svid.key"));
        var logger = new FakeLogger();
        using ReloadingCertificateSource source = PemFileCertificateSourceTests.Open(dir.File("svid.pem"), dir.File("svid.key"), logger);
        bool fired = false;
        source.GetChangeToken().RegisterChangeCallback(_ => Volatile.Write(ref fired, true), null);

        string pem = await File.ReadAllTextAsync(dir.File("svid.pem"));
        switch (defect)
        {
            case "half-written certificate":
                await File.WriteAllTextAsync(dir.File("svid.pem"), pem[..(pem.Length / 3)]);
                break;
            case "intermediate cut short":
                await File.WriteAllTextAsync(dir.File("svid.pem"), pem[..(pem.Length - 80)]); // the leaf is whole
                break;
            case "mismatched pair":
                DevelopmentCertificateAuthority.WriteCertificatePem(Intermediate.Value.IssueSvid(Orders), dir.File("other.pem"), dir.File("other.key"));
                File.Copy(dir.File("other.key"), dir.File("svid.key"), overwrite: true);
                break;
            case "expired":
                using (X509Certificate2 expired = Intermediate.Value.IssueDefective(Orders, SvidDefect.Expired))
                {
                    DevelopmentCertificateAuthority.WriteCertificatePem(expired, Intermediate.Value.Chain, dir.File("svid.pem"), dir.File("svid.key"));
                }

                break;
            default:
                using (X509Certificate2 noUri = Intermediate.Value.IssueDefective(Orders, SvidDefect.NoUriSan))
                {
                    DevelopmentCertificateAuthority.WriteCertificatePem(noUri, Intermediate.Value.Chain, dir.File("svid.pem"), dir.File("svid.key"));
                }

                break;
        }

        await Eventually.WaitUntilAsync(() => logger.CountOf(1001) > 0, "the warning about the rejected certificate");
        Assert.AreEqual(good.Sha256Thumbprint, source.Current.Sha256Thumbprint, "the last good certificate is still served");
        Assert.HasCount(1, source.Current.Intermediates);
        Assert.IsFalse(Volatile.Read(ref fired), "no change is signalled");
        Assert.IsTrue(logger.Contains(1001, dir.File("svid.")), "the warning names the file");

        WorkloadCertificate recovered = Intermediate.Value.IssueSvid(Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(recovered, dir.File("svid.pem"), dir.File("svid.key"));
        await Eventually.WaitUntilAsync(() => source.Current.Sha256Thumbprint == recovered.Sha256Thumbprint, "the good replacement after the bad one");

        // The new certificate is served before the change token's callbacks run: wait for the signal, do not race it.
        await Eventually.WaitUntilAsync(() => Volatile.Read(ref fired), "the change signalled for the good replacement");
    }

    [TestMethod]
    public async Task AFileRewrittenWithTheSameCertificate_DoesNotSignalAChange()
    {
        var clock = new FakeTimeProvider();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"), clock);
        using var dir = new TemporaryFolder();
        DevelopmentCertificateAuthority.WriteCertificatePem(ca.IssueSvid(Orders), dir.File("svid.pem"), dir.File("svid.key"));
        using ReloadingCertificateSource source = PemFileCertificateSourceTests.Open(dir.File("svid.pem"), dir.File("svid.key"), time: clock);
        WorkloadCertificate first = source.Current;
        bool fired = false;
        source.GetChangeToken().RegisterChangeCallback(_ => fired = true, null);

        // Same certificate, new key file bytes (PKCS#8 re-encoded as SEC1): the files changed, the certificate did not.
        using (System.Security.Cryptography.ECDsa key = first.Certificate.GetECDsaPrivateKey()!)
        {
            await File.WriteAllTextAsync(dir.File("svid.key"), key.ExportECPrivateKeyPem());
        }

        clock.Advance(TimeSpan.FromMilliseconds(100));              // poll: change seen
        clock.Advance(FileChangeMonitor.SettleDelay);                // settled: reload
        Assert.AreSame(first, source.Current);
        Assert.IsFalse(fired);
    }

    [TestMethod]
    public async Task WithAFakeClock_PollingAloneDrivesTheReload()
    {
        var clock = new TimerWatchingTimeProvider();
        using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"), clock);
        using var dir = new TemporaryFolder();
        DevelopmentCertificateAuthority.WriteCertificatePem(ca.IssueSvid(Orders), dir.File("svid.pem"), dir.File("svid.key"));
        using ReloadingCertificateSource source = PemFileCertificateSourceTests.Open(dir.File("svid.pem"), dir.File("svid.key"), time: clock);
        WorkloadCertificate rotated = ca.IssueSvid(Orders);

        using var staging = new TemporaryFolder();
        DevelopmentCertificateAuthority.WriteCertificatePem(rotated, staging.File("svid.pem"), staging.File("svid.key"));
        bool NewFilesInPlace() => SameBytes(staging.File("svid.pem"), dir.File("svid.pem")) && SameBytes(staging.File("svid.key"), dir.File("svid.key"));

        var signalled = new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable registration = source.GetChangeToken().RegisterChangeCallback(_ => signalled.TrySetResult(clock.GetUtcNow()), null);
        DateTimeOffset written = clock.GetUtcNow();

        // The watcher's events only arm the settle timer on the fake clock: wait until one is handled with both new
        // files in place, so the assertion below sees what the watcher alone did.
        Task watcherSawTheNewFiles = clock.NextTimerChangeAsync(FileChangeMonitor.SettleDelay, NewFilesInPlace);
        DevelopmentCertificateAuthority.WriteCertificatePem(rotated, dir.File("svid.pem"), dir.File("svid.key"));
        await Eventually.CompletesAsync(watcherSawTheNewFiles, "a watcher event for the new files arms the settle timer on the fake clock");
        Assert.AreNotEqual(rotated.Sha256Thumbprint, source.Current.Sha256Thumbprint, "the watcher has seen the new files, yet nothing happens until the clock moves");

        clock.Advance(TimeSpan.FromMilliseconds(100));
        clock.Advance(FileChangeMonitor.SettleDelay);

        Assert.AreEqual(rotated.Sha256Thumbprint, source.Current.Sha256Thumbprint);
        Assert.IsTrue(signalled.Task.IsCompleted, "the rotation is signalled");
        Assert.IsGreaterThan(written, await signalled.Task, "signalled once the clock moved (poll, then settle), not when the watcher saw the files");
    }

    private static bool SameBytes(string expected, string actual)
    {
        try
        {
            return File.ReadAllBytes(expected).AsSpan().SequenceEqual(File.ReadAllBytes(actual));
        }
        catch (IOException)
        {
            return false; // mid-swap
        }
    }
}
