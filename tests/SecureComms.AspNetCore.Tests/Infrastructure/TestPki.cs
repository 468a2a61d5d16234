using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>Certificates minted once per test run: a trust domain with three workloads, plus rogue authorities.</summary>
internal static class TestPki
{
    private static readonly Lazy<Pki> Instance = new(() => new Pki());

    public static TrustDomain TrustDomain => Instance.Value.Ca.TrustDomain;

    public static DevelopmentCertificateAuthority Ca => Instance.Value.Ca;

    /// <summary>Another CA that claims the same trust domain name but is not in the bundle.</summary>
    public static DevelopmentCertificateAuthority RogueCa => Instance.Value.RogueCa;

    /// <summary>The CA of a trust domain this service does not trust.</summary>
    public static DevelopmentCertificateAuthority OtherDomainCa => Instance.Value.OtherDomainCa;

    public static SpiffeId Orders { get; } = SpiffeId.Parse("spiffe://example.org/orders");

    public static SpiffeId Billing { get; } = SpiffeId.Parse("spiffe://example.org/billing");

    public static SpiffeId Analytics { get; } = SpiffeId.Parse("spiffe://example.org/analytics");

    public static WorkloadCertificate Issue(SpiffeId id) => Ca.IssueSvid(id);

    public static InMemoryTrustBundleSource Bundles() => new(Ca.CreateTrustBundle());

    private sealed class Pki
    {
        public DevelopmentCertificateAuthority Ca { get; } = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"), lifetime: TimeSpan.FromDays(2));

        public DevelopmentCertificateAuthority RogueCa { get; } = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));

        public DevelopmentCertificateAuthority OtherDomainCa { get; } = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("other.org"));
    }
}
