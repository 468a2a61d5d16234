using System.Net;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Forwarding;

/// <summary>
/// Who may forward a client certificate: an mTLS proxy by its SPIFFE ID only, a plaintext proxy by its address only,
/// and a list with a bad entry compiles to nothing (fail closed) with every problem named by its key.
/// </summary>
[TestClass]
public sealed class TrustedProxiesTests
{
    private const string Key = "SecureComms:Server:ForwardedCertificates:TrustedProxies";

    private static TrustedProxies Compile(params string[] entries)
    {
        var errors = new List<string>();
        Assert.IsTrue(TrustedProxies.TryCompile(entries, out TrustedProxies? proxies, errors, Key), string.Join("; ", errors));
        Assert.IsEmpty(errors);
        return proxies;
    }

    [TestMethod]
    [DataRow("127.0.0.1", "127.0.0.1", true, DisplayName = "IPv4 address: itself")]
    [DataRow("127.0.0.1", "127.0.0.2", false, DisplayName = "IPv4 address: exactly one address (/32)")]
    [DataRow("10.0.0.0/8", "10.200.3.4", true, DisplayName = "IPv4 range: inside")]
    [DataRow("10.0.0.0/8", "11.0.0.1", false, DisplayName = "IPv4 range: outside")]
    [DataRow("10.0.0.0/8", "::ffff:10.1.2.3", true, DisplayName = "IPv4 range: the same address mapped to IPv6, as a dual-stack socket reports it")]
    [DataRow("127.0.0.1", "::ffff:127.0.0.1", true, DisplayName = "IPv4 address: mapped to IPv6")]
    [DataRow("::1", "::1", true, DisplayName = "IPv6 address: itself")]
    [DataRow("::1", "::2", false, DisplayName = "IPv6 address: exactly one address (/128)")]
    [DataRow("fd00::/8", "fd12::1", true, DisplayName = "IPv6 range: inside")]
    [DataRow("fd00::/8", "fe80::1", false, DisplayName = "IPv6 range: outside")]
    [DataRow("fd00::/8", "10.0.0.1", false, DisplayName = "IPv6 range: an IPv4 peer")]
    public void PlaintextPeer_IsTrustedByItsAddressOnly(string entry, string peer, bool trusted)
    {
        TrustedProxies proxies = Compile(entry);

        Assert.IsFalse(proxies.IsEmpty);
        Assert.AreEqual(trusted, proxies.TrustsAddress(IPAddress.Parse(peer)));
        Assert.IsFalse(proxies.TrustsIdentity(TestPki.Orders), "an address entry never trusts an mTLS peer");
    }

    [TestMethod]
    public void SeveralNetworks_AnyOfThemTrusts()
    {
        TrustedProxies proxies = Compile("10.0.0.0/8", "192.168.1.7");

        Assert.IsTrue(proxies.TrustsAddress(IPAddress.Parse("10.0.0.1")));
        Assert.IsTrue(proxies.TrustsAddress(IPAddress.Parse("192.168.1.7")));
        Assert.IsFalse(proxies.TrustsAddress(IPAddress.Parse("192.168.1.8")));
    }

    [TestMethod]
    public void UnknownPeerAddress_IsNeverTrusted()
    {
        Assert.IsFalse(Compile("0.0.0.0/0").TrustsAddress(null));
    }

    [TestMethod]
    [DataRow("spiffe://example.org/ingress", "spiffe://example.org/ingress", true, DisplayName = "exact ID")]
    [DataRow("spiffe://example.org/ingress", "spiffe://example.org/orders", false, DisplayName = "exact ID: another workload")]
    [DataRow("spiffe://example.org/edge/*", "spiffe://example.org/edge/eu-1", true, DisplayName = "prefix")]
    [DataRow("spiffe://example.org/edge/*", "spiffe://example.org/edges", false, DisplayName = "prefix: segment boundary")]
    public void MutualTlsPeer_IsTrustedByItsSpiffeIdOnly(string entry, string peer, bool trusted)
    {
        TrustedProxies proxies = Compile(entry);

        Assert.IsFalse(proxies.IsEmpty);
        Assert.AreEqual(trusted, proxies.TrustsIdentity(SpiffeId.Parse(peer)));
        Assert.IsFalse(proxies.TrustsAddress(IPAddress.Loopback), "an identity entry never trusts a plaintext peer");
    }

    [TestMethod]
    public void IdentitiesAndAddresses_Mixed_EachTrustsItsOwnKindOfPeer()
    {
        TrustedProxies proxies = Compile("spiffe://example.org/ingress", "127.0.0.1", "spiffe://example.org/edge");

        Assert.IsTrue(proxies.TrustsIdentity(SpiffeId.Parse("spiffe://example.org/ingress")));
        Assert.IsTrue(proxies.TrustsIdentity(SpiffeId.Parse("spiffe://example.org/edge")));
        Assert.IsFalse(proxies.TrustsIdentity(TestPki.Orders));
        Assert.IsTrue(proxies.TrustsAddress(IPAddress.Loopback));
    }

    [TestMethod]
    public void NoEntries_IsEmpty_AndTrustsNobody()
    {
        TrustedProxies proxies = Compile();

        Assert.IsTrue(proxies.IsEmpty);
        Assert.IsFalse(proxies.TrustsIdentity(TestPki.Orders));
        Assert.IsFalse(proxies.TrustsAddress(IPAddress.Loopback));
    }

    [TestMethod]
    public void BadEntries_CompileToNothing_AndEachIsNamedByItsKey()
    {
        var errors = new List<string> { "an earlier problem of another section" };

        bool compiled = TrustedProxies.TryCompile(["127.0.0.1", "spiffe://Example.org/ingress", "ingress.example.org", "10.0.0.0/33"], out TrustedProxies? proxies, errors, Key);

        Assert.IsFalse(compiled);
        Assert.IsNull(proxies, "a list with a bad entry trusts nobody");
        Assert.HasCount(4, errors, string.Join("; ", errors));
        Assert.StartsWith($"{Key}:1 'spiffe://Example.org/ingress': ", errors[1]);
        Assert.AreEqual($"{Key}:2 'ingress.example.org' is neither a SPIFFE ID pattern nor an IP address or CIDR range.", errors[2]);
        Assert.StartsWith($"{Key}:3 '10.0.0.0/33'", errors[3]);
    }

    [TestMethod]
    public void EarlierErrorsOfAnotherSection_DoNotRefuseAGoodList()
    {
        var errors = new List<string> { "an earlier problem of another section" };

        Assert.IsTrue(TrustedProxies.TryCompile(["127.0.0.1"], out TrustedProxies? proxies, errors, Key));
        Assert.IsTrue(proxies.TrustsAddress(IPAddress.Loopback));
        Assert.HasCount(1, errors);
    }
}
