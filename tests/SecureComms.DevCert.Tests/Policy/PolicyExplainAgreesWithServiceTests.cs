using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Claims;
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
/// each from a caller holding its own X.509-SVID, with real certificate-bound tokens or through the gateway's SecureComms
/// client minting user contexts, and every answer is compared with the explanation of that request.
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
            int status = await RawRequestAsync(address, Ca.IssueSvid(SpiffeId.Parse(caller)), method, path, token: null);
            DevCertRun explained = DevCertRun.Of("policy", "explain", "--config", files.Config, "--caller", caller, "--method", method, "--path", path);

            Assert.AreEqual(status == 200 ? 0 : 1, explained.ExitCode, $"{caller} {method} {path}: the service answered {status}\n{explained}");
            Assert.IsTrue(status is 200 or 403, $"{caller} {method} {path}: {status}");
            allowed += status == 200 ? 1 : 0;
        }

        Assert.AreEqual(7, allowed, "the table has both outcomes");
    }

    /// <summary>
    /// With access tokens: certificate-bound tokens from a development authorization server, validated by the service,
    /// carry the scopes and claims that explain is given as --scope and --claim (a claim twice is a JSON array).
    /// </summary>
    [TestMethod]
    public async Task ExplainAndTheService_DecideAlike_OnTheScopesAndClaimsOfRealTokens()
    {
        (string Caller, string Method, string Path, string[] Scopes, string[] Tenants)[] requests =
        [
            ("spiffe://example.org/orders", "GET", "/invoices/42", ["invoices.read"], []),
            ("spiffe://example.org/orders", "GET", "/invoices/42", ["invoices.write"], []),
            ("spiffe://example.org/orders", "GET", "/invoices/42", [], []),
            ("spiffe://example.org/orders", "POST", "/invoices", ["invoices.read", "invoices.write"], []),
            ("spiffe://example.org/orders", "POST", "/invoices", ["invoices.read"], []),
            ("spiffe://example.org/orders", "POST", "/invoices/", ["invoices.writer"], []),
            ("spiffe://example.org/team/analytics", "GET", "/reports/q1", [], ["other", "acme"]),
            ("spiffe://example.org/team/analytics", "GET", "/reports/q1", [], ["other"]),
            ("spiffe://example.org/team/analytics", "GET", "/reports/q1", [], ["ACME"]),
            ("spiffe://example.org/team/analytics", "GET", "/status", ["invoices.read"], ["acme"]),
        ];
        const string Audience = "https://billing.example.org";
        var tokenServerId = SpiffeId.Parse("spiffe://example.org/token-server");
        await using DevelopmentTokenServer tokens = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = Ca.IssueSvid(tokenServerId),
            ClientTrust = Ca.CreateTrustBundle(),
        });
        using var files = new BillingPolicyFiles();
        await using WebApplication billing = await StartAsync(files, new Dictionary<string, string?>
        {
            ["SecureComms:TokenValidation:Authority"] = tokens.Issuer.GetLeftPart(UriPartial.Authority),
            ["SecureComms:TokenValidation:ExpectedServer"] = tokenServerId.ToString(),
            ["SecureComms:TokenValidation:Audience"] = Audience,
        });
        Uri address = new(billing.Urls.First());

        int allowed = 0;
        foreach ((string caller, string method, string path, string[] scopes, string[] tenants) in requests)
        {
            WorkloadCertificate svid = Ca.IssueSvid(SpiffeId.Parse(caller));
            var claims = new Dictionary<string, object>(StringComparer.Ordinal);
            if (scopes.Length > 0)
            {
                claims["scope"] = string.Join(' ', scopes);
            }

            if (tenants.Length > 0)
            {
                claims["tenant"] = tenants.Length == 1 ? tenants[0] : tenants;
            }

            string token = tokens.IssueUserToken(caller, Audience, claims, boundTo: svid.Certificate);
            int status = await RawRequestAsync(address, svid, method, path, token);
            string[] args =
            [
                "policy", "explain", "--config", files.Config, "--caller", caller, "--method", method, "--path", path,
                .. scopes.SelectMany(scope => new[] { "--scope", scope }),
                .. tenants.SelectMany(tenant => new[] { "--claim", "tenant=" + tenant }),
            ];
            DevCertRun explained = DevCertRun.Of(args);

            string at = $"{caller} {method} {path} scopes [{string.Join(' ', scopes)}] tenants [{string.Join(' ', tenants)}]";
            Assert.IsTrue(status is 200 or 403, $"{at}: {status}");
            Assert.AreEqual(status == 200 ? 0 : 1, explained.ExitCode, $"{at}: the service answered {status}\n{explained}");
            allowed += status == 200 ? 1 : 0;
        }

        Assert.AreEqual(4, allowed, "the table has both outcomes");
    }

    /// <summary>
    /// With end users: the gateway's SecureComms client mints a user context for each user (Mint mode, the user's
    /// <c>role</c> carried), the service verifies it and puts the end user on the principal; explain is given the same
    /// user as --user and --user-claim.
    /// </summary>
    [TestMethod]
    public async Task ExplainAndTheService_DecideAlike_OnVerifiedEndUsers()
    {
        (string? User, string[] Roles, string Method, string Path)[] requests =
        [
            ("alice", ["clerk"], "POST", "/refunds/9"),
            ("bob", ["buyer"], "POST", "/refunds/9"),
            ("carol", ["buyer", "clerk"], "POST", "/refunds/9"),
            ("dave", [], "POST", "/refunds/9"),
            (null, [], "POST", "/refunds/9"),
            ("alice", ["clerk"], "GET", "/refunds/9"),
            ("alice", ["clerk"], "GET", "/status"),
        ];
        var gateway = SpiffeId.Parse("spiffe://example.org/gateway");
        using var files = new BillingPolicyFiles();
        await using WebApplication billing = await StartAsync(files, new Dictionary<string, string?>
        {
            ["SecureComms:UserContext:TrustedGateways:0"] = gateway.ToString(),
        });
        IConfiguration clientConfiguration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SecureComms:Clients:billing:BaseAddress"] = billing.Urls.First(),
            ["SecureComms:Clients:billing:ExpectedServer"] = "spiffe://example.org/billing",
            ["SecureComms:Clients:billing:UserContext:Mode"] = "Mint",
            ["SecureComms:Clients:billing:UserContext:Claims:0"] = "role",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddSecureCommsCore(clientConfiguration)
            .UseCertificateSource(new InMemoryCertificateSource(Ca.IssueSvid(gateway)))
            .UseTrustBundleSource(new InMemoryTrustBundleSource(Ca.CreateTrustBundle()));
        await using ServiceProvider client = services.BuildServiceProvider();
        HttpClient http = client.GetRequiredService<IHttpClientFactory>().CreateClient("billing");

        int allowed = 0;
        foreach ((string? user, string[] roles, string method, string path) in requests)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
            if (user is not null)
            {
                var claims = new List<Claim> { new("sub", user) };
                claims.AddRange(roles.Select(role => new Claim("role", role)));
                request.Options.Set(SecureCommsUserContext.User, new ClaimsPrincipal(new ClaimsIdentity(claims, "Edge")));
            }

            using HttpResponseMessage response = await http.SendAsync(request);
            int status = (int)response.StatusCode;
            string[] args =
            [
                "policy", "explain", "--config", files.Config, "--caller", gateway.ToString(), "--method", method, "--path", path,
                .. user is null ? Array.Empty<string>() : ["--user", user],
                .. roles.SelectMany(role => new[] { "--user-claim", "role=" + role }),
            ];
            DevCertRun explained = DevCertRun.Of(args);

            string at = $"{user ?? "(no user)"} [{string.Join(' ', roles)}] {method} {path}";
            Assert.IsTrue(status is 200 or 403, $"{at}: {status}");
            Assert.AreEqual(status == 200 ? 0 : 1, explained.ExitCode, $"{at}: the service answered {status}\n{explained}");
            allowed += status == 200 ? 1 : 0;
        }

        Assert.AreEqual(3, allowed, "the table has both outcomes");
    }

    private static async Task<WebApplication> StartAsync(BillingPolicyFiles files, IDictionary<string, string?>? overrides = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel();
        foreach (string file in files.Files)
        {
            builder.Configuration.AddJsonFile(file, optional: false, reloadOnChange: false);
        }

        builder.Configuration.AddInMemoryCollection(overrides ?? new Dictionary<string, string?>());

        builder.Logging.ClearProviders();
        builder.Services.AddSecureComms(builder.Configuration)
            .UseCertificateSource(new InMemoryCertificateSource(Billing))
            .UseTrustBundleSource(new InMemoryTrustBundleSource(Ca.CreateTrustBundle()));
        WebApplication app = builder.Build();
        app.MapMethods("/{**rest}", ["GET", "POST", "DELETE"], () => "served"); // no endpoint authorization: the central policy decides alone
        await app.StartAsync();
        return app;
    }

    private static async Task<int> RawRequestAsync(Uri server, WorkloadCertificate certificate, string method, string path, string? token)
    {
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
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: billing\r\n{(token is null ? string.Empty : $"Authorization: Bearer {token}\r\n")}Content-Length: 0\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(tls, Encoding.ASCII);
        string statusLine = await reader.ReadLineAsync() ?? string.Empty;
        return int.Parse(statusLine.Split(' ')[1], CultureInfo.InvariantCulture);
    }
}
