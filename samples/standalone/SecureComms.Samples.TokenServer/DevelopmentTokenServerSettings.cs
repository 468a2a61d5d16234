using System.Security.Cryptography.X509Certificates;
using SecureComms.Testing;

namespace SecureComms.Samples.TokenServer;

/// <summary>
/// The <c>DevelopmentTokenServer</c> section of appsettings.json: what <see cref="DevelopmentTokenServerOptions"/> needs,
/// as file paths and strings. Development only.
/// </summary>
internal sealed class DevelopmentTokenServerSettings
{
    public const string SectionName = "DevelopmentTokenServer";

    /// <summary>Port on 127.0.0.1 (the server listens on loopback only).</summary>
    public int Port { get; set; }

    /// <summary>The server's X.509-SVID (PEM: the leaf, then its intermediates).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Its private key (PEM).</summary>
    public string? KeyPath { get; set; }

    /// <summary>The trust domain of the clients' SVIDs.</summary>
    public string TrustDomain { get; set; } = "example.org";

    /// <summary>The PEM trust bundle that tls_client_auth client certificates must chain to.</summary>
    public string? ClientTrustBundlePath { get; set; }

    /// <summary>Lifetime of issued access tokens.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Registered clients.</summary>
    public IList<ClientSettings> Clients { get; } = [];

    /// <summary>Checks every key, reporting all problems at once, then loads the certificate and the bundle.</summary>
    public DevelopmentTokenServerOptions ToOptions(ILoggerFactory loggerFactory)
    {
        const string Key = SectionName + ":";
        var errors = new List<string>();
        if (Port is < 1 or > 65535)
        {
            errors.Add($"{Key}Port must be between 1 and 65535 (it is {Port}).");
        }

        RequireFile(Key + "CertificatePath", CertificatePath, errors);
        RequireFile(Key + "KeyPath", KeyPath, errors);
        RequireFile(Key + "ClientTrustBundlePath", ClientTrustBundlePath, errors);
        if (!SecureComms.TrustDomain.TryParse(TrustDomain, out TrustDomain trustDomain, out string? trustDomainError))
        {
            errors.Add($"{Key}TrustDomain '{TrustDomain}': {trustDomainError}");
        }

        var clients = new List<DevelopmentClient>();
        for (int i = 0; i < Clients.Count; i++)
        {
            ClientSettings client = Clients[i];
            string clientKey = $"{Key}Clients:{i}:";
            if (string.IsNullOrWhiteSpace(client.ClientId))
            {
                errors.Add(clientKey + "ClientId is required.");
            }

            if (!SpiffeId.TryParse(client.TlsClientAuthSanUri, out SpiffeId sanUri, out string? idError))
            {
                errors.Add($"{clientKey}TlsClientAuthSanUri '{client.TlsClientAuthSanUri}': {idError}");
            }

            clients.Add(new DevelopmentClient
            {
                ClientId = client.ClientId ?? string.Empty,
                Authentication = TokenClientAuthentication.TlsClientAuth,
                TlsClientAuthSanUri = sanUri,
                AllowedScopes = [.. client.AllowedScopes],
                AllowedResources = [.. client.AllowedResources],
            });
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException("The development token server is misconfigured:" + Environment.NewLine + string.Join(Environment.NewLine, errors));
        }

        return new DevelopmentTokenServerOptions
        {
            Port = Port,
            ServerCertificate = DevelopmentCertificateAuthority.ReadCertificatePem(CertificatePath!, KeyPath!),
            ClientTrust = DevelopmentCertificateAuthority.LoadTrustBundle(trustDomain, ClientTrustBundlePath!, TrustBundleFormat.Pem),
            TokenLifetime = TokenLifetime,
            Clients = clients,
            LoggerFactory = loggerFactory,
        };
    }

    private static void RequireFile(string key, string? path, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{key} is required.");
        }
        else if (!File.Exists(path))
        {
            errors.Add($"{key} '{path}' does not exist (working directory {Environment.CurrentDirectory}).");
        }
    }
}

/// <summary>One registered client (<c>DevelopmentTokenServer:Clients:{n}</c>): <c>tls_client_auth</c> by SPIFFE ID.</summary>
internal sealed class ClientSettings
{
    /// <summary>The client id the client sends.</summary>
    public string? ClientId { get; set; }

    /// <summary>RFC 8705 §2.1.2 <c>tls_client_auth_san_uri</c>: the SPIFFE ID its SVID must carry.</summary>
    public string? TlsClientAuthSanUri { get; set; }

    /// <summary>Scopes it may be granted.</summary>
    public IList<string> AllowedScopes { get; } = [];

    /// <summary>Resource indicators (RFC 8707) it may get tokens for.</summary>
    public IList<string> AllowedResources { get; } = [];
}
