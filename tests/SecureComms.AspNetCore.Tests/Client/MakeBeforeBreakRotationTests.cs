using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Client;

/// <summary>
/// The client's SVID rotates while the token server is slow: calls carry on with the previous certificate and the
/// token bound to it, on the previous connections, until the new token is ready; then they switch. A real SecureComms
/// resource server checks every token's binding to the certificate of its connection (RFC 8705 §3) throughout.
/// </summary>
[TestClass]
public sealed class MakeBeforeBreakRotationTests
{
    private const string Resource = "https://billing.example.org";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [TestMethod]
    public async Task RotatedClientCertificate_WithTheTokenServerHeld_CallsKeepTheOldPair_ThenSwitch_AndTheBindingHoldsThroughout()
    {
        TaskCompletionSource gate = Open();
        await using DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server")),
            ClientTrust = TestPki.Ca.CreateTrustBundle(),
            Clients = [new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TestPki.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [Resource] }],
            BeforeTokenResponse = ct => Volatile.Read(ref gate).Task.WaitAsync(ct),
        });
        string authority = tokenServer.Issuer.GetLeftPart(UriPartial.Authority);
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => CertificateBinding.Thumbprint(ctx.Connection.ClientCertificate!)).RequireCaller(TestPki.Orders.ToString()),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = authority,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Resource,
            });
        WorkloadCertificate oldSvid = TestPki.Issue(TestPki.Orders);
        using var certificates = new InMemoryCertificateSource(oldSvid);
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Clients:billing:BaseAddress"] = billing.BaseAddress.ToString(),
            ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
            ["SecureComms:Clients:billing:Token:Authority"] = authority,
            ["SecureComms:Clients:billing:Token:ExpectedServer"] = "spiffe://example.org/token-server",
            ["SecureComms:Clients:billing:Token:ClientId"] = "orders",
            ["SecureComms:Clients:billing:Token:Scope"] = "invoices.read",
            ["SecureComms:Clients:billing:Token:Resource"] = Resource,
        }).Build();
        var services = new ServiceCollection().AddLogging(b => b.SetMinimumLevel(LogLevel.Debug));
        services.AddSecureCommsCore(configuration).UseCertificateSource(certificates).UseTrustBundleSource(TestPki.Bundles());
        await using ServiceProvider orders = services.BuildServiceProvider();
        HttpClient client = orders.GetRequiredService<IHttpClientFactory>().CreateClient("billing");
        string before = await PresentedCertificateAsync(client);

        Volatile.Write(ref gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)); // the token server stalls
        WorkloadCertificate newSvid = TestPki.Issue(TestPki.Orders);
        certificates.Update(newSvid);
        string[] whileHeld = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => PresentedCertificateAsync(client))).WaitAsync(Deadline);
        await HeldRequestArrivesAsync(tokenServer, client);
        int requestsWhileHeld = tokenServer.TokenRequestCount;

        // Release the token server while calls keep going: each one must still present the certificate its token names.
        var duringSwitch = new List<string>();
        Task<string> switching = Task.Run(async () =>
        {
            while (true)
            {
                string[] round = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PresentedCertificateAsync(client)));
                lock (duringSwitch)
                {
                    duringSwitch.AddRange(round);
                }

                if (round.All(t => t == newSvid.Sha256Thumbprint))
                {
                    return round[0];
                }
            }
        });
        gate.SetResult();
        string after = await switching.WaitAsync(Deadline);

        Assert.AreEqual(oldSvid.Sha256Thumbprint, before);
        Assert.IsTrue(whileHeld.All(t => t == oldSvid.Sha256Thumbprint), "while the new token is pending, the old certificate and its token carry on");
        Assert.AreEqual(2, requestsWhileHeld, "the token for the new certificate was requested (and held), once");
        Assert.AreEqual(newSvid.Sha256Thumbprint, after);
        Assert.IsTrue(duringSwitch.All(t => t == oldSvid.Sha256Thumbprint || t == newSvid.Sha256Thumbprint));
        Assert.DoesNotContain(e => e.Message.Contains(SecureCommsTelemetry.Reasons.TokenBoundToAnotherCertificate, StringComparison.Ordinal), billing.Logs.GetSnapshot(), "no token was ever sent with another certificate");
        Assert.AreEqual(2, tokenServer.TokenRequestCount, "no token was refused and renewed");
    }

    /// <summary>Calls billing; it answers 200 with the thumbprint of the certificate presented on the connection only if the token is bound to it.</summary>
    private static async Task<string> PresentedCertificateAsync(HttpClient client)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri("/invoices", UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
        return body;
    }

    /// <summary>Calls on (each one still answered without the token server) until the held token request has reached it.</summary>
    private static Task HeldRequestArrivesAsync(DevelopmentTokenServer tokenServer, HttpClient client) =>
        Eventually.WaitUntilAsync(
            async () =>
            {
                if (tokenServer.TokenRequestCount >= 2)
                {
                    return true;
                }

                await PresentedCertificateAsync(client).WaitAsync(Deadline);
                return false;
            },
            "the token for the new certificate is requested",
            Deadline);

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}
