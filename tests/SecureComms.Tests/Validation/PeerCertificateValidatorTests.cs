using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;
using SecureComms.Tests.Fakes;

namespace SecureComms.Tests.Validation;

[TestClass]
public sealed class PeerCertificateValidatorTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TrustDomain DomainA = TrustDomain.Parse("example.org");
    private static readonly TrustDomain DomainB = TrustDomain.Parse("partner.org");
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/ns/prod/sa/orders");
    private static readonly SpiffeId Billing = SpiffeId.Parse("spiffe://partner.org/billing");

    private static DevelopmentCertificateAuthority s_caA = null!;
    private static DevelopmentCertificateAuthority s_intermediateA = null!;
    private static DevelopmentCertificateAuthority s_rogueA = null!;
    private static DevelopmentCertificateAuthority s_caB = null!;

    /// <summary>Every way a peer might try to pass; each must be denied with exactly this reason.</summary>
    public enum Attack
    {
        NoCertificate,
        AnotherCaWithTheSameTrustDomainName,
        Expired,
        NotYetValid,
        CertificateAuthorityAsLeaf,
        TwoUriSans,
        NoUriSan,
        TrustDomainIdAsWorkload,
        NotASpiffeUri,
        NoKeyUsage,
        KeyCertSignUsage,
        CrlSignUsage,
        ServerAuthOnlyPresentedAsClient,
        ClientAuthOnlyPresentedAsServer,
        DomainBIdentitySignedByDomainACa,
        UnknownTrustDomain,
        ClockMovedPastNotAfter,
        ClockMovedPastRootNotAfter,
        MissingIntermediate,
        IntermediatePresentedAsLeaf,
        CaSignedLeafWithoutTrustDomainUriPresentedAsLeaf,
        MalformedKeyUsageExtension,
        MalformedSubjectAltNameExtension,
    }

    [ClassInitialize]
    public static void CreatePki(TestContext context)
    {
        var clock = new FakeTimeProvider(Start);
        s_caA = DevelopmentCertificateAuthority.Create(DomainA, clock);
        s_intermediateA = s_caA.CreateIntermediate();
        s_rogueA = DevelopmentCertificateAuthority.Create(DomainA, clock);
        s_caB = DevelopmentCertificateAuthority.Create(DomainB, clock);
    }

    [ClassCleanup]
    public static void DisposePki()
    {
        s_intermediateA.Dispose();
        s_caA.Dispose();
        s_rogueA.Dispose();
        s_caB.Dispose();
    }

    [TestMethod]
    [DataRow(false, PeerSide.Client, DisplayName = "Direct SVID as client")]
    [DataRow(false, PeerSide.Server, DisplayName = "Direct SVID as server")]
    [DataRow(true, PeerSide.Client, DisplayName = "SVID via intermediate as client")]
    [DataRow(true, PeerSide.Server, DisplayName = "SVID via intermediate as server")]
    public void ValidSvid_IsAcceptedWithItsSpiffeId(bool viaIntermediate, PeerSide side)
    {
        DevelopmentCertificateAuthority issuer = viaIntermediate ? s_intermediateA : s_caA;
        WorkloadCertificate svid = issuer.IssueSvid(Orders);

        SvidValidationResult result = Validator(new FakeTimeProvider(Start)).Validate(svid.Certificate, svid.Intermediates, side);

        Assert.IsTrue(result.IsValid, result.ToString());
        Assert.AreEqual(Orders, result.SpiffeId);
        Assert.IsNull(result.Detail);
    }

    [TestMethod]
    [DataRow(SvidDefect.ServerAuthOnly, PeerSide.Server, DisplayName = "serverAuth-only SVID as server")]
    [DataRow(SvidDefect.ClientAuthOnly, PeerSide.Client, DisplayName = "clientAuth-only SVID as client")]
    public void SvidWithTheEkuOfItsSide_IsAccepted(SvidDefect eku, PeerSide side)
    {
        using X509Certificate2 certificate = s_caA.IssueDefective(Orders, eku);

        SvidValidationResult result = Validator(new FakeTimeProvider(Start)).Validate(certificate, null, side);

        Assert.IsTrue(result.IsValid, result.ToString());
    }

    [TestMethod]
    public void SvidWithoutExtendedKeyUsage_IsAcceptedOnBothSides()
    {
        using X509Certificate2 certificate = s_caA.IssueCertificate(new SvidSpec { UriSans = [Orders.ToString()], ExtendedKeyUsageOids = null });
        PeerCertificateValidator validator = Validator(new FakeTimeProvider(Start));

        Assert.IsTrue(validator.Validate(certificate, null, PeerSide.Client).IsValid);
        Assert.IsTrue(validator.Validate(certificate, null, PeerSide.Server).IsValid);
    }

    [TestMethod]
    [DataRow(Attack.NoCertificate, SvidValidationFailure.NoCertificate)]
    [DataRow(Attack.AnotherCaWithTheSameTrustDomainName, SvidValidationFailure.UntrustedRoot)]
    [DataRow(Attack.Expired, SvidValidationFailure.Expired)]
    [DataRow(Attack.NotYetValid, SvidValidationFailure.NotYetValid)]
    [DataRow(Attack.CertificateAuthorityAsLeaf, SvidValidationFailure.LeafIsCertificateAuthority)]
    [DataRow(Attack.TwoUriSans, SvidValidationFailure.MultipleUriSans)]
    [DataRow(Attack.NoUriSan, SvidValidationFailure.MissingUriSan)]
    [DataRow(Attack.TrustDomainIdAsWorkload, SvidValidationFailure.TrustDomainIdAsWorkload)]
    [DataRow(Attack.NotASpiffeUri, SvidValidationFailure.InvalidSpiffeId)]
    [DataRow(Attack.NoKeyUsage, SvidValidationFailure.MissingDigitalSignature)]
    [DataRow(Attack.KeyCertSignUsage, SvidValidationFailure.ForbiddenKeyUsage)]
    [DataRow(Attack.CrlSignUsage, SvidValidationFailure.ForbiddenKeyUsage)]
    [DataRow(Attack.ServerAuthOnlyPresentedAsClient, SvidValidationFailure.WrongExtendedKeyUsage)]
    [DataRow(Attack.ClientAuthOnlyPresentedAsServer, SvidValidationFailure.WrongExtendedKeyUsage)]
    [DataRow(Attack.DomainBIdentitySignedByDomainACa, SvidValidationFailure.UntrustedRoot)]
    [DataRow(Attack.UnknownTrustDomain, SvidValidationFailure.UnknownTrustDomain)]
    [DataRow(Attack.ClockMovedPastNotAfter, SvidValidationFailure.Expired)]
    [DataRow(Attack.ClockMovedPastRootNotAfter, SvidValidationFailure.Expired)]
    [DataRow(Attack.MissingIntermediate, SvidValidationFailure.UntrustedRoot)]
    [DataRow(Attack.IntermediatePresentedAsLeaf, SvidValidationFailure.TrustDomainIdAsWorkload)]
    [DataRow(Attack.CaSignedLeafWithoutTrustDomainUriPresentedAsLeaf, SvidValidationFailure.LeafIsCertificateAuthority)]
    [DataRow(Attack.MalformedKeyUsageExtension, SvidValidationFailure.InvalidChain)]
    [DataRow(Attack.MalformedSubjectAltNameExtension, SvidValidationFailure.InvalidSpiffeId)]
    public void Attack_IsDeniedWithItsExactReason(Attack attack, SvidValidationFailure expected)
    {
        var clock = new FakeTimeProvider(Start);
        ITrustBundleSource bundles = new StaticTrustBundleSource(s_caA.CreateTrustBundle(), s_caB.CreateTrustBundle());
        PeerSide side = PeerSide.Client;
        X509Certificate2Collection? intermediates = null;
        X509Certificate2? certificate;
        DevelopmentCertificateAuthority? shortLivedCa = null;

        switch (attack)
        {
            case Attack.NoCertificate:
                certificate = null;
                break;
            case Attack.AnotherCaWithTheSameTrustDomainName:
                certificate = s_rogueA.IssueSvid(Orders).Certificate;
                break;
            case Attack.Expired:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.Expired);
                break;
            case Attack.NotYetValid:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.NotYetValid);
                break;
            case Attack.CertificateAuthorityAsLeaf:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.CertificateAuthorityAsLeaf);
                break;
            case Attack.TwoUriSans:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.TwoUriSans);
                break;
            case Attack.NoUriSan:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.NoUriSan);
                break;
            case Attack.TrustDomainIdAsWorkload:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.TrustDomainIdAsWorkload);
                break;
            case Attack.NotASpiffeUri:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.NotASpiffeUri);
                break;
            case Attack.NoKeyUsage:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.NoKeyUsage);
                break;
            case Attack.KeyCertSignUsage:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.KeyCertSignUsage);
                break;
            case Attack.CrlSignUsage:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.CrlSignUsage);
                break;
            case Attack.ServerAuthOnlyPresentedAsClient:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.ServerAuthOnly);
                side = PeerSide.Client;
                break;
            case Attack.ClientAuthOnlyPresentedAsServer:
                certificate = s_caA.IssueDefective(Orders, SvidDefect.ClientAuthOnly);
                side = PeerSide.Server;
                break;
            case Attack.DomainBIdentitySignedByDomainACa:
                // Federation: A's CA is trusted, but only for A. It must not vouch for an identity of B.
                certificate = s_caA.IssueCertificate(new SvidSpec { UriSans = [Billing.ToString()] });
                break;
            case Attack.UnknownTrustDomain:
                bundles = new StaticTrustBundleSource(s_caA.CreateTrustBundle());
                certificate = s_caB.IssueSvid(Billing).Certificate;
                break;
            case Attack.ClockMovedPastNotAfter:
                certificate = s_caA.IssueSvid(Orders).Certificate;
                clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
                break;
            case Attack.ClockMovedPastRootNotAfter:
                // The leaf outlives its root: the leaf is still in date, the root is not.
                shortLivedCa = DevelopmentCertificateAuthority.Create(DomainA, clock, TimeSpan.FromMinutes(30));
                bundles = new StaticTrustBundleSource(shortLivedCa.CreateTrustBundle());
                certificate = shortLivedCa.IssueSvid(Orders, TimeSpan.FromHours(2)).Certificate;
                clock.Advance(TimeSpan.FromMinutes(45));
                break;
            case Attack.MissingIntermediate:
                certificate = s_intermediateA.IssueSvid(Orders).Certificate;
                intermediates = null;
                break;
            case Attack.IntermediatePresentedAsLeaf:
                // A signing certificate carries the trust domain ID (X509-SVID §3.2): that alone disqualifies it.
                certificate = s_intermediateA.Certificate;
                break;
            case Attack.CaSignedLeafWithoutTrustDomainUriPresentedAsLeaf:
                // A CA certificate with a workload ID and full signing key usage: cA=true is what gives it away.
                certificate = s_caA.IssueCertificate(new SvidSpec
                {
                    UriSans = [Orders.ToString()],
                    IsCertificateAuthority = true,
                    KeyUsage = X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign,
                });
                break;
            case Attack.MalformedKeyUsageExtension:
                certificate = SelfSignedWith(new X509Extension("2.5.29.15", [0x03, 0x7F, 0x00], critical: true));
                break;
            case Attack.MalformedSubjectAltNameExtension:
                certificate = SelfSignedWith(new X509Extension("2.5.29.17", [0x30, 0x05, 0x86, 0x01], critical: false));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(attack), attack, null);
        }

        try
        {
            SvidValidationResult result = new PeerCertificateValidator(bundles, clock).Validate(certificate, intermediates, side);

            Assert.AreEqual(expected, result.Failure, result.ToString());
            Assert.IsFalse(result.IsValid);
            Assert.IsFalse(string.IsNullOrWhiteSpace(result.Detail));
            Assert.DoesNotContain("PRIVATE KEY", result.Detail!);
        }
        finally
        {
            if (!ReferenceEquals(certificate, s_intermediateA.Certificate))
            {
                certificate?.Dispose();
            }

            shortLivedCa?.Dispose();
        }
    }

    [TestMethod]
    public void ClockMovedPastNotAfter_ReportsTheDatesInTheDetail()
    {
        var clock = new FakeTimeProvider(Start);
        WorkloadCertificate svid = s_caA.IssueSvid(Orders);
        clock.Advance(TimeSpan.FromHours(2));

        SvidValidationResult result = Validator(clock).Validate(svid.Certificate, null, PeerSide.Server);

        Assert.AreEqual(SvidValidationFailure.Expired, result.Failure);
        Assert.AreEqual(Orders, result.SpiffeId);
        Assert.Contains("expired at 2026-03-01T13:00:00Z (now 2026-03-01T14:00:00Z)", result.Detail!);
    }

    [TestMethod]
    public void ValidPath_HoldsUntilItsFirstCertificateExpires()
    {
        // A leaf that expires before its CAs: the verdict holds until the leaf's NotAfter.
        var clock = new FakeTimeProvider(Start);
        WorkloadCertificate shortLeaf = s_intermediateA.IssueSvid(Orders, TimeSpan.FromMinutes(20));
        SvidValidationResult leafFirst = Validator(clock).Validate(shortLeaf.Certificate, shortLeaf.Intermediates, PeerSide.Client);

        // A leaf that outlives its CAs (a root of 30 minutes, an intermediate ending with it, a leaf of two hours): the
        // verdict holds until the CAs expire, not until the leaf does.
        using var shortLivedRoot = DevelopmentCertificateAuthority.Create(DomainA, clock, TimeSpan.FromMinutes(30));
        using DevelopmentCertificateAuthority shortLivedIntermediate = shortLivedRoot.CreateIntermediate();
        WorkloadCertificate longLeaf = shortLivedIntermediate.IssueSvid(Orders, TimeSpan.FromHours(2));
        SvidValidationResult authorityFirst = new PeerCertificateValidator(new StaticTrustBundleSource(shortLivedRoot.CreateTrustBundle()), clock)
            .Validate(longLeaf.Certificate, longLeaf.Intermediates, PeerSide.Client);

        Assert.IsTrue(leafFirst.IsValid, leafFirst.ToString());
        Assert.AreEqual(new DateTimeOffset(shortLeaf.Certificate.NotAfter.ToUniversalTime()), leafFirst.ValidUntil);
        Assert.IsTrue(authorityFirst.IsValid, authorityFirst.ToString());
        Assert.AreEqual(new DateTimeOffset(shortLivedIntermediate.Certificate.NotAfter.ToUniversalTime()), authorityFirst.ValidUntil);
        Assert.IsLessThan(new DateTimeOffset(longLeaf.Certificate.NotAfter.ToUniversalTime()), authorityFirst.ValidUntil!.Value, "the leaf outlives its CAs in this case");
        Assert.AreEqual(TimeSpan.Zero, authorityFirst.ValidUntil!.Value.Offset);
    }

    [TestMethod]
    public void ValidationAtTheInjectedClock_DoesNotUseTheSystemClock()
    {
        // The PKI lives in 2026 by the fake clock; the validator must judge it by that clock, not by the machine's.
        var clock = new FakeTimeProvider(new DateTimeOffset(2041, 6, 1, 0, 0, 0, TimeSpan.Zero));
        using var ca = DevelopmentCertificateAuthority.Create(DomainA, clock);
        WorkloadCertificate svid = ca.IssueSvid(Orders);

        SvidValidationResult result = new PeerCertificateValidator(new StaticTrustBundleSource(ca.CreateTrustBundle()), clock)
            .Validate(svid.Certificate, null, PeerSide.Client);

        Assert.IsTrue(result.IsValid, result.ToString());
    }

    private static X509Certificate2 SelfSignedWith(X509Extension malformed)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=malformed", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        if (malformed.Oid?.Value != "2.5.29.17")
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(new Uri(Orders.ToString()));
            request.CertificateExtensions.Add(san.Build());
        }

        request.CertificateExtensions.Add(malformed);
        // Public part only: attaching the key would make .NET parse the broken key usage itself.
        var subject = new X500DistinguishedName("CN=malformed");
        return request.Create(subject, X509SignatureGenerator.CreateForECDsa(key), Start.AddMinutes(-5), Start.AddHours(1), [0x01, 0x02]);
    }

    private static PeerCertificateValidator Validator(TimeProvider clock) =>
        new(new StaticTrustBundleSource(s_caA.CreateTrustBundle(), s_caB.CreateTrustBundle()), clock);
}
