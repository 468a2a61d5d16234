using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SecureComms.AspNetCore.Tests.Configuration;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.TokenValidation;

/// <summary>
/// An authorization server whose certificate comes from an internal CA, with a DNS SAN (not an SVID, not trusted by the
/// system), trusted on both sides by configuration alone: the client's token, metadata calls through
/// <c>Clients:{name}:Token:ServerCaBundlePath</c>, the resource server's metadata and JWKS calls through
/// <c>TokenValidation:ServerCaBundlePath</c>.
/// </summary>
[TestClass]
public sealed class InternalCaAuthorityTests
{
    private const string Resource = "https://billing.example.org";

    [TestMethod]
    public async Task TokenServerWithAnInternalCaCertificate_IsTrustedByTheCaFile_ForTokensMetadataAndKeys_OnBothSides()
    {
        using var dir = new TemporaryFolder();
        using var internalCa = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("internal.test"));
        string caFile = Path.Combine(dir.Path, "internal-ca.pem");
        internalCa.WriteTrustBundlePem(caFile);
        X509Certificate2 hostCertificate = internalCa.IssueCertificate(new SvidSpec { DnsSans = ["localhost"], CommonName = "localhost", ExtendedKeyUsageOids = [SvidSpec.ServerAuthOid] });
        await using DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server")), // not presented
            TlsCertificate = SslStreamCertificateContext.Create(hostCertificate, internalCa.Chain, offline: true),
            HostName = "localhost",
            ClientTrust = TestPki.Ca.CreateTrustBundle(),
            Clients = [new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TestPki.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [Resource] }],
        });
        string authority = tokenServer.Issuer.GetLeftPart(UriPartial.Authority); // https://localhost:{port}
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext ctx) => $"sub={ctx.User.FindFirst("sub")?.Value}").RequireCaller(TestPki.Orders.ToString()),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = authority,
                ["SecureComms:TokenValidation:Audience"] = Resource,
                ["SecureComms:TokenValidation:ServerCaBundlePath"] = caFile,
            });
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Clients:billing:BaseAddress"] = billing.BaseAddress.ToString(),
            ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
            ["SecureComms:Clients:billing:Token:Authority"] = authority,
            ["SecureComms:Clients:billing:Token:ServerCaBundlePath"] = caFile,
            ["SecureComms:Clients:billing:Token:ClientId"] = "orders",
            ["SecureComms:Clients:billing:Token:Scope"] = "invoices.read",
            ["SecureComms:Clients:billing:Token:Resource"] = Resource,
            ["SecureComms:Clients:billing:Token:MaxRetries"] = "0",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddSecureCommsCore(configuration).UseCertificateSource(new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders))).UseTrustBundleSource(TestPki.Bundles());
        await using ServiceProvider orders = services.BuildServiceProvider();

        using HttpResponseMessage response = await orders.GetRequiredService<IHttpClientFactory>().CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative));

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        Assert.AreEqual("sub=orders", await response.Content.ReadAsStringAsync());
    }

    [TestMethod]
    public async Task MissingCaFile_ForTokenValidation_FailsStartUp_NamingTheKeyAndTheFile()
    {
        OptionsValidationException error = await Assert.ThrowsExactlyAsync<OptionsValidationException>(() => SecureServiceHost.StartAsync(
            _ => { },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = "https://auth.internal.test",
                ["SecureComms:TokenValidation:Audience"] = Resource,
                ["SecureComms:TokenValidation:ServerCaBundlePath"] = "/nonexistent/internal-ca.pem",
            }));

        Assert.Contains("SecureComms:TokenValidation:ServerCaBundlePath: the file '/nonexistent/internal-ca.pem' does not exist", error.Message);
    }
}
