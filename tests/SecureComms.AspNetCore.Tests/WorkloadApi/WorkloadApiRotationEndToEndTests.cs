using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.WorkloadApi;

/// <summary>
/// A real Kestrel service whose identity comes only from the SPIFFE Workload API (no certificate file, no source in
/// code), called continuously by a SecureComms client while the agent rotates the service's SVID every 1.5 seconds.
/// </summary>
[TestClass]
public sealed class WorkloadApiRotationEndToEndTests
{
    private static readonly TimeSpan RunFor = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RotateEvery = TimeSpan.FromSeconds(1.5);

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task ServiceIdentityFromTheWorkloadApi_RotatedDuringContinuousCalls_LosesNoCall_AndTheNextHandshakePresentsTheNewSvid()
    {
        await using DevelopmentWorkloadApiServer agent = await DevelopmentWorkloadApiServer.StartAsync(new DevelopmentWorkloadApiServerOptions
        {
            Authority = TestPki.Ca,
            SpiffeId = TestPki.Billing,
            SvidLifetime = TimeSpan.FromMinutes(10),
        });
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => "ok").RequireCaller(TestPki.Orders.ToString()),
            certificate: null,
            bundles: null,
            new Dictionary<string, string?>
            {
                ["SecureComms:Certificate:Source"] = "WorkloadApi",
                ["SecureComms:WorkloadApi:Socket"] = agent.Socket,
            });
        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        await using ServiceProvider client = Client(billing.BaseAddress, orders);
        HttpClient http = client.GetRequiredService<IHttpClientFactory>().CreateClient("billing");
        Assert.IsInstanceOfType<WorkloadApiX509Source>(billing.App.Services.GetRequiredService<ICertificateSource>());
        Assert.AreEqual(CertificateBinding.Thumbprint(agent.CurrentCertificate), await HandshakeAsync(billing.BaseAddress, orders));

        using var stop = new CancellationTokenSource();
        long calls = 0;
        long failures = 0;
        var failureReasons = new List<string>();
        Task[] callers = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using HttpResponseMessage response = await http.GetAsync(new Uri("/invoices", UriKind.Relative), CancellationToken.None);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Record($"HTTP {(int)response.StatusCode}");
                    }
                }
                catch (HttpRequestException ex)
                {
                    Record(ex.Message);
                }

                Interlocked.Increment(ref calls);
            }
        }))];

        void Record(string reason)
        {
            Interlocked.Increment(ref failures);
            lock (failureReasons)
            {
                failureReasons.Add(reason);
            }
        }

        var seen = new List<string>();
        int rotations = 0;
        var run = Stopwatch.StartNew();
        while (run.Elapsed + RotateEvery <= RunFor)
        {
            TimeSpan due = (rotations + 1) * RotateEvery; // on a fixed schedule, however long the handshake check took
            if (due > run.Elapsed)
            {
                await Task.Delay(due - run.Elapsed);
            }

            string rotated = CertificateBinding.Thumbprint(await agent.RotateAsync());
            rotations++;
            await Eventually.WaitUntilAsync(async () => await HandshakeAsync(billing.BaseAddress, orders) == rotated, $"rotation {rotations} is presented on a new handshake");
            seen.Add(rotated);
        }

        await stop.CancelAsync();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));
        TestContext.WriteLine($"Workload API rotation under load: {rotations} rotations in {run.Elapsed.TotalSeconds:F1} s, {calls} calls, {failures} failed.");

        Assert.IsGreaterThanOrEqualTo(5, rotations);
        Assert.IsGreaterThan(0L, calls);
        Assert.AreEqual(0L, failures, string.Join("; ", failureReasons.Distinct()));
        Assert.HasCount(rotations, seen.Distinct(), "every rotation was a new certificate, each seen on the next handshake");
        Assert.AreEqual(rotations, billing.Logs.GetSnapshot().Count(r => r.Id.Id == 1000), "each push is logged as a rotation, as a file rotation is");
        Assert.AreEqual(0, billing.Logs.GetSnapshot().Count(r => r.Id.Id == 1804), "no push was refused");
    }

    [TestMethod]
    public async Task ClientIdentityFromTheWorkloadApi_Rotated_IsPresentedOnTheNextConnections()
    {
        await using DevelopmentWorkloadApiServer agent = await DevelopmentWorkloadApiServer.StartAsync(new DevelopmentWorkloadApiServerOptions
        {
            Authority = TestPki.Ca,
            SpiffeId = TestPki.Orders,
        });
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/whoami", (HttpContext ctx) => CertificateBinding.Thumbprint(ctx.Connection.ClientCertificate!)).RequireCaller(TestPki.Orders.ToString()),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Certificate:Source"] = "WorkloadApi",
            ["SecureComms:WorkloadApi:Socket"] = agent.Socket,
            ["SecureComms:Clients:billing:BaseAddress"] = billing.BaseAddress.ToString(),
            ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddSecureCommsCore(configuration);
        await using ServiceProvider orders = services.BuildServiceProvider();
        foreach (Microsoft.Extensions.Hosting.IHostedService hosted in orders.GetServices<Microsoft.Extensions.Hosting.IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None); // as a host does: waits for the first SVID
        }

        HttpClient http = orders.GetRequiredService<IHttpClientFactory>().CreateClient("billing");
        Assert.AreEqual(CertificateBinding.Thumbprint(agent.CurrentCertificate), await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));

        string rotated = CertificateBinding.Thumbprint(await agent.RotateAsync());

        await Eventually.WaitUntilAsync(
            async () => await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)) == rotated,
            "calls move to connections that present the rotated SVID");
    }

    private static ServiceProvider Client(Uri billing, WorkloadCertificate orders)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Clients:billing:BaseAddress"] = billing.ToString(),
            ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddSecureCommsCore(configuration).UseCertificateSource(new InMemoryCertificateSource(orders)).UseTrustBundleSource(TestPki.Bundles());
        return services.BuildServiceProvider();
    }

    /// <summary>A new TLS connection to the service, as a SecureComms client opens one: returns the thumbprint of the certificate the server presented.</summary>
    private static async Task<string> HandshakeAsync(Uri address, WorkloadCertificate client)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        await using var tls = new SslStream(tcp.GetStream());
        X509Certificate2? presented = null;
        var validator = new PeerCertificateValidator(TestPki.Bundles(), TimeProvider.System);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = address.Host,
            ClientCertificateContext = SslStreamCertificateContext.Create(client.Certificate, client.Intermediates, offline: true),
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                presented = X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData());
                return validator.Validate(presented, chain?.ChainPolicy.ExtraStore, PeerSide.Server).IsValid;
            },
        });
        using (presented)
        {
            return CertificateBinding.Thumbprint(presented!);
        }
    }
}
