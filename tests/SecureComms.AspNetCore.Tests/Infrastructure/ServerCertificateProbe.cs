using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>Opens one new TLS connection and reports the certificate the server presented.</summary>
internal static class ServerCertificateProbe
{
    /// <summary>
    /// The SHA-1 thumbprint of the server's certificate on a new connection; by default it must chain to the test CA,
    /// <paramref name="validateServer"/> replaces that check.
    /// </summary>
    public static async Task<string> GetThumbprintAsync(Uri server, X509Certificate2 clientCertificate, RemoteCertificateValidationCallback? validateServer = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "billing",
            ClientCertificates = [clientCertificate],
            RemoteCertificateValidationCallback = validateServer ?? TestClients.ServerTrustedByTestCa,
        });
        return ((X509Certificate2)tls.RemoteCertificate!).Thumbprint;
    }
}
