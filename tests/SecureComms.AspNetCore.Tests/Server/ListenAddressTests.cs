using System.Net;

namespace SecureComms.AspNetCore.Tests.Server;

[TestClass]
public sealed class ListenAddressTests
{
    [TestMethod]
    [DataRow("https://0.0.0.0:8443", true, "0.0.0.0", 8443)]
    [DataRow("https://*:8443", true, "0.0.0.0", 8443)]
    [DataRow("https://127.0.0.1:0", true, "127.0.0.1", 0)]
    [DataRow("https://[::1]:443", true, "::1", 443)]
    [DataRow("http://127.0.0.1:8080", false, "127.0.0.1", 8080)]
    [DataRow("HTTPS://[::]:8443/", true, "::", 8443)]
    [DataRow("https://+:8443", true, "0.0.0.0", 8443)]
    public void ParsesListenerAddresses(string url, bool https, string ip, int port)
    {
        Assert.IsTrue(ListenAddress.TryParse(url, out ListenAddress address, out string? error), error);
        Assert.AreEqual(https, address.IsHttps);
        Assert.AreEqual(IPAddress.Parse(ip), address.Address);
        Assert.AreEqual(port, address.Port);
    }

    [TestMethod]
    public void Localhost_IsRecognised()
    {
        Assert.IsTrue(ListenAddress.TryParse("https://localhost:5001", out ListenAddress address, out _));
        Assert.IsTrue(address.IsLocalhost);
    }

    [TestMethod]
    [DataRow("127.0.0.1:8443", "absolute URL")]
    [DataRow("ftp://127.0.0.1:21", "scheme")]
    [DataRow("https://127.0.0.1", "no port")]
    [DataRow("https://127.0.0.1:99999", "port")]
    [DataRow("https://billing.internal:8443", "host")]
    [DataRow("https://[::1]", "no port")]
    [DataRow("https://127.0.0.1:abc", "the port 'abc'")]
    [DataRow("https://127.0.0.1:+443", "the port '+443'")]
    [DataRow("https://127.0.0.1:-1", "the port '-1'")]
    [DataRow("https://127.0.0.1:8443/api", "path")]
    [DataRow("http://unix:/tmp/securecomms.sock", "Unix sockets")]
    [DataRow("", "absolute URL")]
    public void InvalidAddress_IsRejectedWithAReason(string url, string reason)
    {
        Assert.IsFalse(ListenAddress.TryParse(url, out _, out string? error));
        Assert.Contains(reason, error);
    }
}
