namespace SecureComms.Tests.WorkloadApi;

/// <summary>The Workload API address grammar (SPIFFE Workload Endpoint §4), as a table.</summary>
[TestClass]
public sealed class WorkloadApiEndpointTests
{
    [TestMethod]
    [DataRow("unix:///run/spire/sockets/agent.sock", "/run/spire/sockets/agent.sock")]
    [DataRow("unix:/run/spire/agent.sock", "/run/spire/agent.sock")]
    [DataRow("unix:///tmp/with%20space.sock", "/tmp/with space.sock")]
    public void UnixAddresses_GiveTheAbsoluteSocketPath(string address, string path)
    {
        WorkloadApiEndpoint endpoint = WorkloadApiEndpoint.Parse(address);

        Assert.AreEqual(path, endpoint.SocketPath);
        Assert.IsNull(endpoint.TcpEndPoint);
        Assert.AreEqual(address, endpoint.ToString());
    }

    [TestMethod]
    [DataRow("tcp://127.0.0.1:8081", "127.0.0.1:8081")]
    [DataRow("tcp://[::1]:8081", "[::1]:8081")]
    [DataRow("tcp://10.0.0.5:443/", "10.0.0.5:443")]
    public void TcpAddresses_GiveAnIpEndPoint(string address, string endPoint)
    {
        WorkloadApiEndpoint endpoint = WorkloadApiEndpoint.Parse(address);

        Assert.AreEqual(endPoint, endpoint.TcpEndPoint!.ToString());
        Assert.IsNull(endpoint.SocketPath);
    }

    [TestMethod]
    [DataRow("", "empty")]
    [DataRow("   ", "empty")]
    [DataRow("/run/spire/agent.sock", "unsupported scheme")]
    [DataRow("http://127.0.0.1:8081", "unsupported scheme")]
    [DataRow("unix://agent/run/agent.sock", "names a host")]
    [DataRow("unix:relative.sock", "no absolute socket path")]
    [DataRow("unix:///", "no absolute socket path")]
    [DataRow("unix:///run/agent.sock?x=1", "query or fragment")]
    [DataRow("unix:///run/agent.sock#f", "query or fragment")]
    [DataRow("tcp://localhost:8081", "not an IP address with a port")]
    [DataRow("tcp://127.0.0.1", "not an IP address with a port")]
    [DataRow("tcp://127.0.0.1:0", "not an IP address with a port")]
    [DataRow("tcp://user@127.0.0.1:8081", "user info")]
    [DataRow("tcp://127.0.0.1:8081/path", "has a path")]
    public void InvalidAddresses_AreRefused_WithTheReason(string address, string reason)
    {
        Assert.IsFalse(WorkloadApiEndpoint.TryParse(address, out _, out string? error));
        Assert.Contains(reason, error);
        Assert.ThrowsExactly<FormatException>(() => WorkloadApiEndpoint.Parse(address));
    }
}
