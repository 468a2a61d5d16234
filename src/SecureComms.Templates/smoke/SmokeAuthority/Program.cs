using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SecureComms;
using SecureComms.Testing;

// The smoke test's trust domain and authorization server: a development CA that writes the trust bundle and one SVID per
// workload as PEM files, and a development token server that issues access tokens bound to their SVIDs.
// Usage: SmokeAuthority <out-dir> <trust-domain> <workload>[=<resource>,...]... [--user <subject>:<role>=<audience>]...
// Writes the CA (<out-dir>/ca.pem and ca.key) and the trust bundle (<out-dir>/bundle.pem).
// Every workload gets an SVID (spiffe://<trust-domain>/<workload>, <out-dir>/<workload>.pem and .key); one followed by
// resources is also a token client (client id = workload, tls_client_auth) that may ask for tokens for those resources.
// Every --user gets an end-user access token (sub, role) for the audience in <out-dir>/user-<subject>.jwt, issued again
// every minute (tokens live 5 minutes), as a gateway's identity provider would after a sign-in. A gateway's JwtBearer
// reads the metadata and keys without a client certificate, which the token server requires: with --user, a second
// listener (<out-dir>/users-authority.txt, https://localhost:{port}, a certificate of the development CA for localhost)
// serves the token server's metadata and JWKS to anyone.
// Writes <out-dir>/issuer.txt once the token server listens, then runs until SIGTERM or SIGINT.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: SmokeAuthority <out-dir> <trust-domain> <workload>[=<resource>,...]... [--user <subject>:<role>=<audience>]...");
    return 2;
}

string outDir = args[0];
string trustDomain = args[1];
Directory.CreateDirectory(outDir);
var workloads = new List<string>();
var users = new List<(string Subject, string Role, string Audience)>();
for (int i = 2; i < args.Length; i++)
{
    if (args[i] != "--user")
    {
        workloads.Add(args[i]);
        continue;
    }

    string[] user = i + 1 < args.Length ? args[++i].Split('=', 2) : [];
    string[] subjectAndRole = user.Length == 2 ? user[0].Split(':', 2) : [];
    if (subjectAndRole.Length != 2 || subjectAndRole[0].Length == 0 || subjectAndRole[1].Length == 0 || user[1].Length == 0)
    {
        Console.Error.WriteLine("--user needs <subject>:<role>=<audience>, e.g. --user alice:buyer=https://gateway.example.org");
        return 2;
    }

    users.Add((subjectAndRole[0], subjectAndRole[1], user[1]));
}

using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse(trustDomain));
ca.WriteTrustBundlePem(Path.Combine(outDir, "bundle.pem"));
// The CA itself too (ca.pem, ca.key), as 'securecomms-dev ca create' saves one: 'securecomms-dev workload-api serve --ca'
// then issues SVIDs that the token server and the workloads of the file-based run trust.
ca.SavePem(Path.Combine(outDir, "ca.pem"), Path.Combine(outDir, "ca.key"));
var clients = new List<DevelopmentClient>();
foreach (string workload in workloads)
{
    string[] parts = workload.Split('=', 2);
    string name = parts[0];

    // The SVIDs also name localhost (X509-SVID allows extra DNS SANs) so that curl can check a server's host name;
    // SecureComms checks only the SPIFFE ID.
    using System.Security.Cryptography.X509Certificates.X509Certificate2 svid = ca.IssueCertificate(new SvidSpec { UriSans = [$"spiffe://{trustDomain}/{name}"], DnsSans = ["localhost"], CommonName = name });
    DevelopmentCertificateAuthority.WriteCertificatePem(svid, ca.Chain, Path.Combine(outDir, name + ".pem"), Path.Combine(outDir, name + ".key"));
    if (parts.Length == 2)
    {
        clients.Add(new DevelopmentClient
        {
            ClientId = name,
            Authentication = TokenClientAuthentication.TlsClientAuth,
            TlsClientAuthSanUri = SpiffeId.Parse($"spiffe://{trustDomain}/{name}"),
            AllowedResources = parts[1].Split(',', StringSplitOptions.RemoveEmptyEntries),
        });
    }
}

using ILoggerFactory loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole(o => o.SingleLine = true));
WorkloadCertificate tokenServerCertificate = ca.IssueSvid(SpiffeId.Parse($"spiffe://{trustDomain}/auth"));
await using DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
{
    ServerCertificate = tokenServerCertificate,
    ClientTrust = ca.CreateTrustBundle(),
    LoggerFactory = loggerFactory,
    Clients = clients,
});

string issuer = tokenServer.Issuer.GetLeftPart(UriPartial.Authority);
string issuerFile = Path.Combine(outDir, "issuer.txt");
await File.WriteAllTextAsync(issuerFile + ".tmp", issuer);
File.Move(issuerFile + ".tmp", issuerFile, overwrite: true);
Console.WriteLine($"token server {issuer}; SVIDs of {string.Join(", ", workloads)} in {outDir}");

WebApplication? usersAuthority = users.Count == 0 ? null : await StartUsersAuthorityAsync(ca, tokenServer, tokenServerCertificate);

using var stop = new CancellationTokenSource();
using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); });
try
{
    while (true)
    {
        foreach ((string subject, string role, string audience) in users)
        {
            string userFile = Path.Combine(outDir, $"user-{subject}.jwt");
            await File.WriteAllTextAsync(userFile + ".tmp", tokenServer.IssueUserToken(subject, audience, new Dictionary<string, object> { ["role"] = role }));
            File.Move(userFile + ".tmp", userFile, overwrite: true);
        }

        if (usersAuthority is not null && !File.Exists(Path.Combine(outDir, "users-authority.txt")))
        {
            string authority = "https://localhost:" + new Uri(usersAuthority.Urls.First()).Port;
            await File.WriteAllTextAsync(Path.Combine(outDir, "users-authority.txt.tmp"), authority);
            File.Move(Path.Combine(outDir, "users-authority.txt.tmp"), Path.Combine(outDir, "users-authority.txt"));
            Console.WriteLine($"end users' authority {authority}; tokens of {string.Join(", ", users.Select(u => u.Subject))} in {outDir}");
        }

        await Task.Delay(TimeSpan.FromMinutes(1), stop.Token);
    }
}
catch (OperationCanceledException)
{
}

if (usersAuthority is not null)
{
    await usersAuthority.DisposeAsync();
}

return 0;

// The token server's metadata and JWKS, fetched from it with a client certificate of the development CA and served
// without one, on https://localhost (the gateway trusts the development CA as it would a public one).
static async Task<WebApplication> StartUsersAuthorityAsync(DevelopmentCertificateAuthority ca, DevelopmentTokenServer tokenServer, WorkloadCertificate tokenServerCertificate)
{
    X509Certificate2 serverCertificate = ca.IssueCertificate(new SvidSpec { UriSans = [$"spiffe://{ca.TrustDomain}/users"], DnsSans = ["localhost"], CommonName = "localhost" });
    X509Certificate2 clientCertificate = ca.IssueCertificate(new SvidSpec { UriSans = [$"spiffe://{ca.TrustDomain}/users"], CommonName = "users" });
    string pinned = tokenServerCertificate.Certificate.Thumbprint;
    var tokenServerClient = new HttpClient(new SocketsHttpHandler
    {
        SslOptions =
        {
            ClientCertificates = [clientCertificate],
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && string.Equals(certificate.GetCertHashString(), pinned, StringComparison.OrdinalIgnoreCase),
        },
    });

    WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
    {
        https.ServerCertificate = serverCertificate;
        https.ServerCertificateChain = ca.Chain;
    })));
    WebApplication app = builder.Build();
    app.MapGet("/.well-known/openid-configuration", async () =>
    {
        string metadata = await tokenServerClient.GetStringAsync(new Uri(tokenServer.Issuer, "/.well-known/openid-configuration"));
        return Results.Text(metadata.Replace(tokenServer.JwksUri.ToString(), app.Urls.First().Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/jwks", StringComparison.Ordinal), "application/json");
    });
    app.MapGet("/jwks", async () => Results.Text(await tokenServerClient.GetStringAsync(tokenServer.JwksUri), "application/json"));
    await app.StartAsync();
    return app;
}
