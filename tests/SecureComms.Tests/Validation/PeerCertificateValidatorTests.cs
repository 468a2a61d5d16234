using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
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
        KeyEnciphermentWithoutDigitalSignature,
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
        SubjectAltNameWithTrailingBytes,
        SelfSignedLeafPlacedInItsOwnBundle,
        ForgedSignatureNamingTheTrustedCa,
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
    [DataRow(Attack.KeyEnciphermentWithoutDigitalSignature, SvidValidationFailure.MissingDigitalSignature)]
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
    [DataRow(Attack.SubjectAltNameWithTrailingBytes, SvidValidationFailure.InvalidSpiffeId)]
    [DataRow(Attack.SelfSignedLeafPlacedInItsOwnBundle, SvidValidationFailure.InvalidChain)]
    [DataRow(Attack.ForgedSignatureNamingTheTrustedCa, SvidValidationFailure.InvalidChain)]
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
            case Attack.KeyEnciphermentWithoutDigitalSignature:
                // X509-SVID §4.3: a key usage extension that is present but lacks digitalSignature is as bad as none.
                certificate = s_caA.IssueCertificate(new SvidSpec { UriSans = [Orders.ToString()], KeyUsage = X509KeyUsageFlags.KeyEncipherment });
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
            case Attack.SubjectAltNameWithTrailingBytes:
                // Bytes after the GeneralNames sequence: a malformed extension is refused, never read up to the junk.
                certificate = SelfSignedWith(new X509Extension("2.5.29.17", [.. SpiffeSan().RawData, 0x05, 0x00], critical: false));
                break;
            case Attack.SelfSignedLeafPlacedInItsOwnBundle:
                // A workload-shaped certificate made a trust anchor: an authority is never a workload (X509-SVID §3.2).
                certificate = SelfSignedSvid();
                bundles = new StaticTrustBundleSource(new TrustBundle(DomainA, [X509CertificateLoader.LoadCertificate(certificate.RawData)]));
                break;
            case Attack.ForgedSignatureNamingTheTrustedCa:
                // Issuer name and key identifier of the trusted CA, signature by another key: the path is found, then broken.
                certificate = ForgedInTheNameOf(s_caA.Certificate);
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
        Assert.StartsWith("the SVID '", result.Detail!);
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

    [TestMethod]
    [DataRow(PeerSide.Client, SvidDefect.ServerAuthOnly, "presented as a client but its extended key usage lacks clientAuth", DisplayName = "client")]
    [DataRow(PeerSide.Server, SvidDefect.ClientAuthOnly, "presented as a server but its extended key usage lacks serverAuth", DisplayName = "server")]
    public void WrongExtendedKeyUsage_DetailNamesTheSideAndTheMissingPurpose(PeerSide side, SvidDefect eku, string expected)
    {
        using X509Certificate2 certificate = s_caA.IssueDefective(Orders, eku);

        SvidValidationResult result = Validator(new FakeTimeProvider(Start)).Validate(certificate, null, side);

        Assert.AreEqual(SvidValidationFailure.WrongExtendedKeyUsage, result.Failure);
        Assert.Contains(expected, result.Detail!);
    }

    [TestMethod]
    public void SvidCarryingDnsSansBesideItsSpiffeId_IsAcceptedWithItsSpiffeId()
    {
        // X509-SVID §2: other SAN types may accompany the one URI SAN; only URI SANs count.
        using X509Certificate2 certificate = s_caA.IssueCertificate(new SvidSpec { DnsSans = ["orders.example.org", "localhost"], UriSans = [Orders.ToString()] });

        SvidValidationResult result = Validator(new FakeTimeProvider(Start)).Validate(certificate, null, PeerSide.Server);

        Assert.IsTrue(result.IsValid, result.ToString());
        Assert.AreEqual(Orders, result.SpiffeId);
    }

    [TestMethod]
    public void SvidWithDigitalSignatureAndKeyEncipherment_IsAccepted()
    {
        using X509Certificate2 certificate = s_caA.IssueCertificate(new SvidSpec
        {
            UriSans = [Orders.ToString()],
            KeyUsage = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment,
        });

        Assert.IsTrue(Validator(new FakeTimeProvider(Start)).Validate(certificate, null, PeerSide.Client).IsValid);
    }

    [TestMethod]
    public void ClockAtExactlyNotBefore_IsAccepted()
    {
        // RFC 5280 §4.1.2.5: the validity period includes its notBefore instant.
        WorkloadCertificate svid = s_caA.IssueSvid(Orders);
        var notBefore = new DateTimeOffset(svid.Certificate.NotBefore.ToUniversalTime());

        SvidValidationResult atNotBefore = Validator(new FakeTimeProvider(notBefore)).Validate(svid.Certificate, null, PeerSide.Client);
        SvidValidationResult aSecondBefore = Validator(new FakeTimeProvider(notBefore.AddSeconds(-1))).Validate(svid.Certificate, null, PeerSide.Client);

        Assert.IsTrue(atNotBefore.IsValid, atNotBefore.ToString());
        Assert.AreEqual(SvidValidationFailure.NotYetValid, aSecondBefore.Failure);
    }

    [TestMethod]
    public void ClockAtExactlyNotAfter_IsStillRefused_ByThePlatformsChainBuild()
    {
        // The leaf rule is inclusive (RFC 5280 §4.1.2.5), but the platform's chain build treats notAfter itself as
        // expired; the verdict is then the chain failure, never an acceptance.
        WorkloadCertificate svid = s_caA.IssueSvid(Orders);
        var clock = new FakeTimeProvider(new DateTimeOffset(svid.Certificate.NotAfter.ToUniversalTime()));

        SvidValidationResult result = Validator(clock).Validate(svid.Certificate, null, PeerSide.Client);

        Assert.AreEqual(SvidValidationFailure.InvalidChain, result.Failure, result.ToString());
        Assert.Contains("could not be built", result.Detail!);
    }

    [TestMethod]
    [DataRow(false, "the root CA", DisplayName = "direct SVID: the root expired")]
    [DataRow(true, "the intermediate CA", DisplayName = "via intermediate: the intermediate expired with its root")]
    public void ClockMovedPastAnAuthoritysNotAfter_DetailNamesWhichAuthority(bool viaIntermediate, string expected)
    {
        var clock = new FakeTimeProvider(Start);
        using var shortLivedRoot = DevelopmentCertificateAuthority.Create(DomainA, clock, TimeSpan.FromMinutes(30));
        using DevelopmentCertificateAuthority intermediate = shortLivedRoot.CreateIntermediate();
        WorkloadCertificate svid = (viaIntermediate ? intermediate : shortLivedRoot).IssueSvid(Orders, TimeSpan.FromHours(2));
        clock.Advance(TimeSpan.FromMinutes(45));

        SvidValidationResult result = new PeerCertificateValidator(new StaticTrustBundleSource(shortLivedRoot.CreateTrustBundle()), clock)
            .Validate(svid.Certificate, svid.Intermediates, PeerSide.Client);

        Assert.AreEqual(SvidValidationFailure.Expired, result.Failure, result.ToString());
        Assert.StartsWith(expected, result.Detail!);
    }

    [TestMethod]
    public void ValidatingTwice_LeavesTheCallersCertificatesUsable_AndCountsBothValidations()
    {
        // The chain's own copies are disposed after each validation; the leaf, the presented intermediates and the
        // bundle's authorities belong to the caller and must survive it.
        WorkloadCertificate svid = s_intermediateA.IssueSvid(Orders);
        TrustBundle bundle = s_caA.CreateTrustBundle();
        var validator = new PeerCertificateValidator(new StaticTrustBundleSource(bundle), new FakeTimeProvider(Start));

        SvidValidationResult first = validator.Validate(svid.Certificate, svid.Intermediates, PeerSide.Client);
        SvidValidationResult second = validator.Validate(svid.Certificate, svid.Intermediates, PeerSide.Client);

        Assert.IsTrue(first.IsValid, first.ToString());
        Assert.IsTrue(second.IsValid, second.ToString());
        Assert.AreEqual(2, validator.ValidationCount);
        Assert.IsNotEmpty(svid.Certificate.RawData);
        Assert.IsNotEmpty(svid.Intermediates[0].RawData);
        Assert.IsNotEmpty(bundle.Authorities[0].RawData);
    }

    [TestMethod]
    public async Task MissingIntermediate_IsNeverFetchedFromTheUrlTheLeafNames()
    {
        // A leaf may name where to download its issuer (AIA caIssuers, RFC 5280 §4.2.2.1). Following it would put the
        // network, at a URL the peer chose, on the handshake path: the intermediate is served here, and never asked for.
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 root = CaRequest("CN=AIA test root", rootKey).CreateSelfSigned(Start.AddDays(-1), Start.AddDays(30));
        using X509Certificate2 intermediate = CaRequest("CN=AIA test intermediate", intermediateKey)
            .Create(root.SubjectName, X509SignatureGenerator.CreateForECDsa(rootKey), Start.AddDays(-1), Start.AddDays(29), [0x02]);
        int fetches = 0;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        await using WebApplication issuerServer = builder.Build();
        issuerServer.MapGet("/intermediate.cer", () =>
        {
            Interlocked.Increment(ref fetches);
            return Results.Bytes(intermediate.RawData, "application/pkix-cert");
        });
        await issuerServer.StartAsync();
        string address = issuerServer.Urls.Single();

        var leafRequest = new CertificateRequest("CN=AIA test workload", leafKey, HashAlgorithmName.SHA256);
        leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        leafRequest.CertificateExtensions.Add(SpiffeSan());
        leafRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(intermediate, true, false));
        leafRequest.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(null, [$"{address}/intermediate.cer"]));
        using X509Certificate2 leaf = leafRequest.Create(intermediate.SubjectName, X509SignatureGenerator.CreateForECDsa(intermediateKey), Start.AddMinutes(-5), Start.AddHours(1), [0x03]);
        var bundles = new StaticTrustBundleSource(new TrustBundle(DomainA, [X509CertificateLoader.LoadCertificate(root.RawData)]));

        SvidValidationResult withoutIntermediate = new PeerCertificateValidator(bundles, new FakeTimeProvider(Start)).Validate(leaf, null, PeerSide.Client);
        SvidValidationResult withIntermediate = new PeerCertificateValidator(bundles, new FakeTimeProvider(Start)).Validate(leaf, [intermediate], PeerSide.Client);

        Assert.AreEqual(SvidValidationFailure.UntrustedRoot, withoutIntermediate.Failure, withoutIntermediate.ToString());
        Assert.AreEqual(0, Volatile.Read(ref fetches), "the validator reached the network");
        Assert.IsTrue(withIntermediate.IsValid, withIntermediate.ToString());
    }

    [TestMethod]
    public void MissingArguments_AreRefusedAtConstruction()
    {
        Assert.ThrowsExactly<ArgumentNullException>(() => new PeerCertificateValidator(null!, TimeProvider.System));
        Assert.ThrowsExactly<ArgumentNullException>(() => new PeerCertificateValidator(new StaticTrustBundleSource(), null!));
    }

    private static X509Extension SpiffeSan()
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(Orders.ToString()));
        return san.Build();
    }

    private static CertificateRequest CaRequest(string subject, ECDsa key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request;
    }

    private static X509Certificate2 ForgedInTheNameOf(X509Certificate2 authority)
    {
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=forged workload", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(SpiffeSan());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        return request.Create(authority.SubjectName, X509SignatureGenerator.CreateForECDsa(forger), Start.AddMinutes(-5), Start.AddHours(1), [0x04]);
    }

    private static X509Certificate2 SelfSignedSvid()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=self-signed workload", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(SpiffeSan());
        return request.CreateSelfSigned(Start.AddMinutes(-5), Start.AddHours(1));
    }

    private static X509Certificate2 SelfSignedWith(X509Extension malformed)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=malformed", key, HashAlgorithmName.SHA256);
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
