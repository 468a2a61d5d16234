using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Tests.WorkloadApi.Interop;

namespace SecureComms.AspNetCore.Tests.WorkloadApi.Interop;

/// <summary>
/// Services with one <c>AddSecureComms</c> line and their identity from a Workload API server on a gRPC stack
/// SecureComms did not write (<c>@grpc/grpc-js</c>), with no certificate file anywhere: both sides' SVIDs rotated by
/// pushes round after round while calls run continuously lose no call, and a pushed federated bundle opens the
/// handshake to its trust domain.
/// </summary>
[TestClass]
public sealed class NodeWorkloadApiEndToEndTests
{
    private const int Rounds = 5;
    private const int Callers = 4;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task BothSvidsPushedRoundAfterRound_DuringContinuousCalls_NoCallFails_AndNewConnectionsCarryEachRotation()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        await using NodeWorkloadApiServer billingAgent = await NodeWorkloadApiServer.StartAsync();
        await using NodeWorkloadApiServer ordersAgent = await NodeWorkloadApiServer.StartAsync();
        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        await billingAgent.SetSvidAsync(TestPki.Issue(TestPki.Billing), [TestPki.Ca.Certificate]);
        await ordersAgent.SetSvidAsync(orders, [TestPki.Ca.Certificate]);

        var callersSeen = new ConcurrentDictionary<string, byte>();
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/whoami", (HttpContext ctx) =>
            {
                string thumbprint = ctx.Connection.ClientCertificate!.Thumbprint;
                callersSeen.TryAdd(thumbprint, 0);
                return thumbprint;
            }).RequireCaller(TestPki.Orders.ToString()),
            certificate: null,
            bundles: null,
            WorkloadApiSettings(billingAgent));

        var settings = WorkloadApiSettings(ordersAgent);
        settings["SecureComms:Clients:billing:BaseAddress"] = billing.BaseAddress.ToString();
        settings["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString();
        var services = new ServiceCollection().AddLogging();
        services.AddSecureCommsCore(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        await using ServiceProvider caller = services.BuildServiceProvider();
        foreach (IHostedService hosted in caller.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None); // waits for the first SVID
        }

        HttpClient client = caller.GetRequiredService<IHttpClientFactory>().CreateClient("billing");
        int calls = 0;
        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        Task[] callers = [.. Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using HttpResponseMessage response = await client.GetAsync(new Uri("/whoami", UriKind.Relative), CancellationToken.None);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Enqueue($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    }
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue(ex.Message);
                }

                Interlocked.Increment(ref calls);
            }
        }))];

        string serverThumbprint = await ServerCertificateProbe.GetThumbprintAsync(billing.BaseAddress, orders.Certificate);
        for (int round = 1; round <= Rounds; round++)
        {
            WorkloadCertificate nextOrders = TestPki.Issue(TestPki.Orders);
            Assert.AreEqual(1, await ordersAgent.SetSvidAsync(nextOrders, [TestPki.Ca.Certificate]), "pushed to the caller's stream");
            Assert.AreEqual(1, await billingAgent.SetSvidAsync(TestPki.Issue(TestPki.Billing), [TestPki.Ca.Certificate]), "pushed to the service's stream");
            string previousServer = serverThumbprint;
            await Eventually.WaitUntilAsync(
                async () =>
                {
                    serverThumbprint = await ServerCertificateProbe.GetThumbprintAsync(billing.BaseAddress, nextOrders.Certificate);
                    return callersSeen.ContainsKey(nextOrders.Certificate.Thumbprint) && serverThumbprint != previousServer;
                },
                $"round {round}: the service saw the caller's rotated SVID and serves its own rotated SVID",
                TimeSpan.FromSeconds(30));
        }

        await stop.CancelAsync();
        await Task.WhenAll(callers);
        TestContext.WriteLine($"{calls} calls from {Callers} callers across {Rounds} rotations of both SVIDs pushed by @grpc/grpc-js; {failures.Count} failed");

        Assert.IsEmpty(failures, "no call failed: " + string.Join(" | ", failures.Take(5)));
        Assert.IsGreaterThan(Rounds * Callers, calls, "calls ran throughout the rotations");
        Assert.AreEqual(0, (await billingAgent.GetStatsAsync()).RejectedWithoutHeader + (await ordersAgent.GetStatsAsync()).RejectedWithoutHeader);
    }

    [TestMethod]
    public async Task CallerFromAnotherTrustDomain_IsRefusedInTheHandshake_UntilTheAgentPushesItsFederatedBundle()
    {
        NodeWorkloadApiServer.RequireOrSkip();
        SpiffeId reports = SpiffeId.Parse("spiffe://other.org/reports");
        await using NodeWorkloadApiServer billingAgent = await NodeWorkloadApiServer.StartAsync();
        await billingAgent.SetSvidAsync(TestPki.Issue(TestPki.Billing), [TestPki.Ca.Certificate]);
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/reports", () => "ok").RequireCaller(reports.ToString()),
            certificate: null,
            bundles: null,
            WorkloadApiSettings(billingAgent));
        WorkloadCertificate partner = TestPki.OtherDomainCa.IssueSvid(reports);
        var endpoint = new Uri(billing.BaseAddress, "/reports");

        using (HttpClient before = TestClients.RawClient(partner))
        {
            await Assert.ThrowsExactlyAsync<HttpRequestException>(() => before.GetAsync(endpoint), "other.org has no bundle yet");
        }

        Assert.IsTrue(billing.Logs.Contains(1200, "UnknownTrustDomain"), "the handshake refusal names the reason");

        Assert.AreEqual(1, await billingAgent.AddFederatedBundleAsync("spiffe://other.org", [TestPki.OtherDomainCa.Certificate]));

        await Eventually.WaitUntilAsync(
            async () =>
            {
                using HttpClient after = TestClients.RawClient(partner); // a new connection, so a new handshake
                try
                {
                    using HttpResponseMessage response = await after.GetAsync(endpoint);
                    return response.StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            "a caller from other.org is accepted once its federated bundle has been pushed");
    }

    private static Dictionary<string, string?> WorkloadApiSettings(NodeWorkloadApiServer agent) => new()
    {
        ["SecureComms:Certificate:Source"] = "WorkloadApi",
        ["SecureComms:WorkloadApi:Socket"] = agent.Address,
    };
}
