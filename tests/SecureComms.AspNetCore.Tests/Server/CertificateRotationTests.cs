using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Configuration;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Server;

/// <summary>Certificates rotate on disk while traffic flows: new connections carry the new ones, no request fails.</summary>
[TestClass]
public sealed class CertificateRotationTests
{
    [TestMethod]
    public async Task CertificateFilesRotatedOnDisk_NewConnectionsCarryTheNewCertificates_AndNoRequestFails()
    {
        using var dir = new TemporaryFolder();
        string bundle = Path.Combine(dir.Path, "bundle.pem");
        TestPki.Ca.WriteTrustBundlePem(bundle);
        string serverCert = Path.Combine(dir.Path, "billing.pem");
        string serverKey = Path.Combine(dir.Path, "billing.key");
        string clientCert = Path.Combine(dir.Path, "orders.pem");
        string clientKey = Path.Combine(dir.Path, "orders.key");
        DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(TestPki.Billing), serverCert, serverKey);
        WorkloadCertificate firstClient = TestPki.Issue(TestPki.Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(firstClient, clientCert, clientKey);

        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/whoami", (HttpContext ctx) => ctx.Connection.ClientCertificate!.Thumbprint).RequireCaller("spiffe://example.org/orders"),
            certificate: null,
            bundles: null,
            new Dictionary<string, string?>
            {
                ["SecureComms:FilePollingInterval"] = "00:00:01",
                ["SecureComms:Certificate:CertificatePath"] = serverCert,
                ["SecureComms:Certificate:KeyPath"] = serverKey,
                ["SecureComms:TrustBundles:example.org:Path"] = bundle,
            });
        string firstServerThumbprint = await ServerCertificateProbe.GetThumbprintAsync(billing.BaseAddress, firstClient.Certificate);

        var clientConfig = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:FilePollingInterval"] = "00:00:01",
            ["SecureComms:Certificate:CertificatePath"] = clientCert,
            ["SecureComms:Certificate:KeyPath"] = clientKey,
            ["SecureComms:TrustBundles:example.org:Path"] = bundle,
            ["SecureComms:Clients:billing:BaseAddress"] = billing.BaseAddress.ToString(),
            ["SecureComms:Clients:billing:ExpectedServer"] = "spiffe://example.org/billing",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddSecureCommsCore(clientConfig);
        await using ServiceProvider provider = services.BuildServiceProvider();
        HttpClient client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("billing");

        int failures = 0;
        var seen = new HashSet<string>();
        async Task CallAsync()
        {
            try
            {
                HttpResponseMessage response = await client.GetAsync(new Uri("/whoami", UriKind.Relative));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures++;
                    return;
                }

                seen.Add(await response.Content.ReadAsStringAsync());
            }
            catch (HttpRequestException)
            {
                failures++;
            }
        }

        for (int i = 0; i < 5; i++)
        {
            await CallAsync();
        }

        // Rotate both sides: new keys, same identities, written the way a secret mount or spiffe-helper does.
        WorkloadCertificate secondClient = TestPki.Issue(TestPki.Orders);
        DevelopmentCertificateAuthority.WriteCertificatePem(secondClient, clientCert, clientKey);
        DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(TestPki.Billing), serverCert, serverKey);

        string serverThumbprint = firstServerThumbprint;
        await Eventually.WaitUntilAsync(
            async () =>
            {
                await CallAsync();
                serverThumbprint = await ServerCertificateProbe.GetThumbprintAsync(billing.BaseAddress, secondClient.Certificate);
                return seen.Contains(secondClient.Certificate.Thumbprint) && serverThumbprint != firstServerThumbprint;
            },
            "both sides picked up their rotated certificates",
            TimeSpan.FromSeconds(20));

        for (int i = 0; i < 20; i++)
        {
            await CallAsync();
        }

        Assert.AreEqual(0, failures, "no request failed during rotation");
        Assert.Contains(firstClient.Certificate.Thumbprint, seen.ToList(), "before rotation the server saw the first client certificate");
        Assert.Contains(secondClient.Certificate.Thumbprint, seen.ToList(), "after rotation the server saw the new client certificate");
        Assert.AreNotEqual(firstServerThumbprint, serverThumbprint, "new connections were served the rotated server certificate");
    }
}
