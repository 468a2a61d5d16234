using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SecureComms;
using SecureComms.Testing;

// The smoke test's trust domain and authorization server: a development CA that writes the trust bundle and one SVID per
// workload as PEM files, and a development token server that issues access tokens bound to their SVIDs.
// Usage: SmokeAuthority <out-dir> <trust-domain> <workload>[=<resource>,...]...
// Writes the CA (<out-dir>/ca.pem and ca.key) and the trust bundle (<out-dir>/bundle.pem).
// Every workload gets an SVID (spiffe://<trust-domain>/<workload>, <out-dir>/<workload>.pem and .key); one followed by
// resources is also a token client (client id = workload, tls_client_auth) that may ask for tokens for those resources.
// Writes <out-dir>/issuer.txt once the token server listens, then runs until SIGTERM or SIGINT.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: SmokeAuthority <out-dir> <trust-domain> <workload>[=<resource>,...]...");
    return 2;
}

string outDir = args[0];
string trustDomain = args[1];
Directory.CreateDirectory(outDir);

using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse(trustDomain));
ca.WriteTrustBundlePem(Path.Combine(outDir, "bundle.pem"));
// The CA itself too (ca.pem, ca.key), as 'securecomms-dev ca create' saves one: 'securecomms-dev workload-api serve --ca'
// then issues SVIDs that the token server and the workloads of the file-based run trust.
ca.SavePem(Path.Combine(outDir, "ca.pem"), Path.Combine(outDir, "ca.key"));
var clients = new List<DevelopmentClient>();
foreach (string workload in args[2..])
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
await using DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
{
    ServerCertificate = ca.IssueSvid(SpiffeId.Parse($"spiffe://{trustDomain}/auth")),
    ClientTrust = ca.CreateTrustBundle(),
    LoggerFactory = loggerFactory,
    Clients = clients,
});

string issuer = tokenServer.Issuer.GetLeftPart(UriPartial.Authority);
string issuerFile = Path.Combine(outDir, "issuer.txt");
await File.WriteAllTextAsync(issuerFile + ".tmp", issuer);
File.Move(issuerFile + ".tmp", issuerFile, overwrite: true);
Console.WriteLine($"token server {issuer}; SVIDs of {string.Join(", ", args[2..])} in {outDir}");

using var stop = new CancellationTokenSource();
using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); });
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

return 0;
