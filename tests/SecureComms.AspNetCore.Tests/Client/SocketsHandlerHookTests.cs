using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Client;

/// <summary>
/// <c>ConfigureSecureCommsHandler</c>: the application configures the connections of a SecureComms client (proxy,
/// connection limits), observed on the wire against real Kestrel, while TLS and the server's SPIFFE ID stay SecureComms'.
/// </summary>
[TestClass]
public sealed class SocketsHandlerHookTests
{
    private const string Billing = "spiffe://example.org/billing";

    [TestMethod]
    public async Task MaxConnectionsPerServer_SetByTheHook_HoldsASecondCallUntilTheOneConnectionIsFree()
    {
        var firstArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool secondArrivedDuringFirst = false;
        await using SecureServiceHost host = await SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/first", async (HttpContext context) =>
                {
                    firstArrived.TrySetResult();

                    // Without the limit the second call opens a second connection and arrives at once; with one
                    // connection allowed it cannot arrive while this call holds it. The wait is bounded for that case.
                    secondArrivedDuringFirst = await Task.WhenAny(secondArrived.Task, Task.Delay(TimeSpan.FromSeconds(2))) == secondArrived.Task;
                    return context.Connection.Id;
                }).RequireCaller(TestPki.Orders.ToString());
                app.MapGet("/second", (HttpContext context) =>
                {
                    secondArrived.TrySetResult();
                    return context.Connection.Id;
                }).RequireCaller(TestPki.Orders.ToString());
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        (ServiceProvider services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)),
            Billing,
            host.BaseAddress,
            configureClient: c => c.ConfigureSecureCommsHandler(handler => handler.MaxConnectionsPerServer = 1));
        await using ServiceProvider _ = services;

        Task<string> first = client.GetStringAsync(new Uri("/first", UriKind.Relative));
        await firstArrived.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Task<string> second = client.GetStringAsync(new Uri("/second", UriKind.Relative));
        string[] connections = await Task.WhenAll(first, second);

        Assert.IsFalse(secondArrivedDuringFirst, "the second call waited for the one connection allowed");
        Assert.AreEqual(connections[0], connections[1], "both calls went over the same connection");
    }

    [TestMethod]
    public async Task AProxySetByTheHook_CarriesEveryPool_AlsoAfterARotation_AndTheServerIsStillCheckedBySpiffeId()
    {
        await using var proxy = new ConnectProxy();
        await using SecureServiceHost host = await SecureServiceHost.StartAsync(
            app => app.MapGet("/whoami", (HttpContext context) => CertificateBinding.Thumbprint(context.Connection.ClientCertificate!)).RequireCaller(TestPki.Orders.ToString()),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        void ThroughProxy(SocketsHttpHandler handler)
        {
            handler.Proxy = new WebProxy(proxy.Address);
            handler.UseProxy = true;
        }

        var certificates = new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders));
        (ServiceProvider services, HttpClient client) = TestClients.SecureClient(certificates, Billing, host.BaseAddress, configureClient: c => c.ConfigureSecureCommsHandler(ThroughProxy));
        await using ServiceProvider _ = services;

        string before = await client.GetStringAsync(new Uri("/whoami", UriKind.Relative));
        WorkloadCertificate rotated = TestPki.Issue(TestPki.Orders);
        certificates.Update(rotated);
        string after = await client.GetStringAsync(new Uri("/whoami", UriKind.Relative));

        Assert.AreEqual(CertificateBinding.Thumbprint(rotated.Certificate), after, "the rotated certificate was presented");
        Assert.AreNotEqual(before, after);
        string[] tunnels = [.. proxy.Tunnels];
        Assert.HasCount(2, tunnels, "one tunnel for the first pool, one for the pool of the rotated certificate");
        Assert.IsTrue(tunnels.All(t => t == host.BaseAddress.Authority), string.Join(", ", tunnels));

        // Through the same proxy, a client that expects another workload still refuses billing's SVID.
        (ServiceProvider otherServices, HttpClient expectsAnalytics) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/analytics", host.BaseAddress, configureClient: c => c.ConfigureSecureCommsHandler(ThroughProxy));
        await using ServiceProvider __ = otherServices;
        await Assert.ThrowsAsync<HttpRequestException>(() => expectsAnalytics.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        Assert.HasCount(3, proxy.Tunnels, "the refused handshake went through the proxy too");
    }

    [TestMethod]
    [DataRow("SslOptions.RemoteCertificateValidationCallback")]
    [DataRow("SslOptions.EnabledSslProtocols")]
    [DataRow("SslOptions.ClientCertificates")]
    [DataRow("SslOptions.CertificateRevocationCheckMode")]
    [DataRow("SslOptions")]
    [DataRow("PlaintextStreamFilter")]
    [DataRow("AllowAutoRedirect")]
    public async Task AHookThatChangesWhatSecureCommsOwns_IsRefusedByName_AndNoRequestIsSent(string setting)
    {
        Action<SocketsHttpHandler> attack = setting switch
        {
#pragma warning disable CA5359 // the attack under test: a hook that would accept any server certificate
            "SslOptions.RemoteCertificateValidationCallback" => h => h.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
            "SslOptions.EnabledSslProtocols" => h => h.SslOptions.EnabledSslProtocols = SslProtocols.Tls12,
            "SslOptions.ClientCertificates" => h => h.SslOptions.ClientCertificates = [TestPki.Issue(TestPki.Analytics).Certificate],
            "SslOptions.CertificateRevocationCheckMode" => h => h.SslOptions.CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.Online,
            "SslOptions" => h => h.SslOptions = new SslClientAuthenticationOptions(),
            "PlaintextStreamFilter" => h => h.PlaintextStreamFilter = (context, _) => ValueTask.FromResult(context.PlaintextStream),
            "AllowAutoRedirect" => h => h.AllowAutoRedirect = true,
            _ => throw new ArgumentOutOfRangeException(nameof(setting)),
        };
        int requests = 0;
        await using SecureServiceHost host = await SecureServiceHost.StartAsync(
            app => app.MapGet("/", () => Interlocked.Increment(ref requests)).RequireCaller(TestPki.Orders.ToString()),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        var logs = new FakeLogCollector();
        (ServiceProvider services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), Billing, host.BaseAddress, logs: logs, configureClient: c => c.ConfigureSecureCommsHandler(attack));
        await using ServiceProvider _ = services;

        InvalidOperationException refused = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => client.GetStringAsync(new Uri("/", UriKind.Relative)));

        Assert.Contains($"changed {setting},", refused.Message);
        Assert.IsTrue(logs.Contains(1305, setting), "the refusal is logged with the setting");
        Assert.AreEqual(0, requests, "nothing reached the server");
    }
}
