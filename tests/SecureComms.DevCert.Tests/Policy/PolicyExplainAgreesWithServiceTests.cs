using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.Testing;

namespace SecureComms.DevCert.Tests;

/// <summary>
/// <c>policy explain</c> decides as the running service does: a real Kestrel service with SecureComms, started from the
/// same configuration files, answers requests written by hand over real mutual TLS (so no client normalises the path),
/// each from a caller holding its own X.509-SVID, and every answer is compared with the explanation of that request.
/// </summary>
[TestClass]
public sealed class PolicyExplainAgreesWithServiceTests
{
    private static readonly DevelopmentCertificateAuthority Ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
    private static readonly WorkloadCertificate Billing = Ca.IssueSvid(SpiffeId.Parse("spiffe://example.org/billing"));

    [TestMethod]
    public async Task ExplainAndTheService_DecideEveryRequestAlike()
    {
        (string Caller, string Method, string Path)[] requests =
        [
            ("spiffe://example.org/orders", "POST", "/charges"),
            ("spiffe://example.org/orders", "GET", "/charges"),
            ("spiffe://example.org/analytics", "POST", "/charges"),
            ("spiffe://example.org/web", "GET", "/status"),
            ("spiffe://example.org/web", "GET", "/status/"),
            ("spiffe://example.org/web", "GET", "/STATUS"),
            ("spiffe://example.org/web", "GET", "//status"),
            ("spiffe://example.org/web", "GET", "/statusX"),
            ("spiffe://example.org/web", "DELETE", "/status"),
            ("spiffe://example.org/web", "GET", "/tenants/acme/status"),
            ("spiffe://example.org/web", "GET", "/tenants/acme/eu/status"),
            ("spiffe://example.org/web", "GET", "/tenants/acme%2Feu/status"),
            ("spiffe://example.org/team/analytics/nightly", "GET", "/status"),
            ("spiffe://example.org/orders", "GET", "/admin/users"),
            ("spiffe://example.org/orders", "GET", "/Admin"),
            ("spiffe://example.org/orders", "GET", "/invoices/42"),
            ("spiffe://example.org/gateway", "POST", "/refunds/9"),
            ("spiffe://example.org/team/analytics", "GET", "/reports/q1"),
        ];
        using var files = new BillingPolicyFiles();
        await using WebApplication billing = await StartAsync(files);
        Uri address = new(billing.Urls.First());

        int allowed = 0;
        foreach ((string caller, string method, string path) in requests)
        {
            int status = await RawRequestAsync(address, SpiffeId.Parse(caller), method, path);
            DevCertRun explained = DevCertRun.Of("policy", "explain", "--config", files.Config, "--caller", caller, "--method", method, "--path", path);

            Assert.AreEqual(status == 200 ? 0 : 1, explained.ExitCode, $"{caller} {method} {path}: the service answered {status}\n{explained}");
            Assert.IsTrue(status is 200 or 403, $"{caller} {method} {path}: {status}");
            allowed += status == 200 ? 1 : 0;
        }

        Assert.AreEqual(7, allowed, "the table has both outcomes");
    }

    private static async Task<WebApplication> StartAsync(BillingPolicyFiles files)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel();
        foreach (string file in files.Files)
        {
            builder.Configuration.AddJsonFile(file, optional: false, reloadOnChange: false);
        }

        builder.Logging.ClearProviders();
        builder.Services.AddSecureComms(builder.Configuration)
            .UseCertificateSource(new InMemoryCertificateSource(Billing))
            .UseTrustBundleSource(new InMemoryTrustBundleSource(Ca.CreateTrustBundle()));
        WebApplication app = builder.Build();
        app.MapMethods("/{**rest}", ["GET", "POST", "DELETE"], () => "served"); // no endpoint authorization: the central policy decides alone
        await app.StartAsync();
        return app;
    }

    private static async Task<int> RawRequestAsync(Uri server, SpiffeId caller, string method, string path)
    {
        WorkloadCertificate certificate = Ca.IssueSvid(caller);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "billing",
            ClientCertificates = [certificate.Certificate],
            RemoteCertificateValidationCallback = (_, server, _, _) => server is not null && server.GetCertHashString() == Billing.Certificate.GetCertHashString(),
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        });
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: billing\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(tls, Encoding.ASCII);
        string statusLine = await reader.ReadLineAsync() ?? string.Empty;
        return int.Parse(statusLine.Split(' ')[1], CultureInfo.InvariantCulture);
    }
}
