using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SecureComms;
using SecureComms.Testing;

// The smoke test's trust domain and authorization server: a development CA that writes the trust bundle and one SVID per
// workload as PEM files, and a development token server that issues the worker access tokens bound to its SVID for the
// API's audience. Usage: SmokeAuthority <out-dir> <trust-domain> <api-name> <worker-name> <audience>.
// Writes <out-dir>/issuer.txt once the token server listens, then runs until SIGTERM or SIGINT.
if (args.Length != 5)
{
    Console.Error.WriteLine("usage: SmokeAuthority <out-dir> <trust-domain> <api-name> <worker-name> <audience>");
    return 2;
}

string outDir = args[0];
string trustDomain = args[1];
string api = args[2];
string worker = args[3];
string audience = args[4];
Directory.CreateDirectory(outDir);

using var ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse(trustDomain));
ca.WriteTrustBundlePem(Path.Combine(outDir, "bundle.pem"));
foreach (string name in new[] { api, worker })
{
    // The SVIDs also name localhost (X509-SVID allows extra DNS SANs) so that curl can check the API's host name;
    // SecureComms checks only the SPIFFE ID.
    using System.Security.Cryptography.X509Certificates.X509Certificate2 svid = ca.IssueCertificate(new SvidSpec { UriSans = [$"spiffe://{trustDomain}/{name}"], DnsSans = ["localhost"], CommonName = name });
    DevelopmentCertificateAuthority.WriteCertificatePem(svid, ca.Chain, Path.Combine(outDir, name + ".pem"), Path.Combine(outDir, name + ".key"));
}

using ILoggerFactory loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole(o => o.SingleLine = true));
await using DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
{
    ServerCertificate = ca.IssueSvid(SpiffeId.Parse($"spiffe://{trustDomain}/auth")),
    ClientTrust = ca.CreateTrustBundle(),
    LoggerFactory = loggerFactory,
    Clients =
    [
        new DevelopmentClient
        {
            ClientId = worker,
            Authentication = TokenClientAuthentication.TlsClientAuth,
            TlsClientAuthSanUri = SpiffeId.Parse($"spiffe://{trustDomain}/{worker}"),
            AllowedResources = [audience],
        },
    ],
});

string issuer = tokenServer.Issuer.GetLeftPart(UriPartial.Authority);
string issuerFile = Path.Combine(outDir, "issuer.txt");
await File.WriteAllTextAsync(issuerFile + ".tmp", issuer);
File.Move(issuerFile + ".tmp", issuerFile, overwrite: true);
Console.WriteLine($"token server {issuer}; SVIDs for spiffe://{trustDomain}/{api} and spiffe://{trustDomain}/{worker} in {outDir}");

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
