using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>Clients for tests: SecureComms' own, and a raw client that presents any certificate we hand it.</summary>
internal static class TestClients
{
    /// <summary>A SecureComms client from <c>IHttpClientFactory</c>, as an application would get it.</summary>
    public static (ServiceProvider Services, HttpClient Client) SecureClient(
        ICertificateSource certificate,
        string expectedServer,
        Uri baseAddress,
        ITrustBundleSource? bundles = null,
        FakeLogCollector? logs = null,
        Action<IHttpClientBuilder>? configureClient = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            if (logs is not null)
            {
                b.AddProvider(new FakeLoggerProvider(logs));
            }
        });
        services.AddSecureCommsCore(o => o.Clients["server"] = new SecureClientOptions { BaseAddress = baseAddress, RotationDrainTime = TimeSpan.FromSeconds(5) })
            .UseCertificateSource(certificate)
            .UseTrustBundleSource(bundles ?? TestPki.Bundles());
        IHttpClientBuilder client = services.AddHttpClient("server").AddSecureComms(expectedServer);
        configureClient?.Invoke(client);
        ServiceProvider provider = services.BuildServiceProvider();
        return (provider, provider.GetRequiredService<IHttpClientFactory>().CreateClient("server"));
    }

    /// <summary>
    /// A plain .NET client that presents <paramref name="clientCertificate"/> (or none) and trusts the test CA for
    /// the server, so tests can exercise what the server does with arbitrary, including bad, client certificates.
    /// </summary>
    public static HttpClient RawClient(X509Certificate2? clientCertificate, SslProtocols protocols = SslProtocols.Tls12 | SslProtocols.Tls13)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = protocols,
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate,
                RemoteCertificateValidationCallback = ServerTrustedByTestCa,
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
    }

    /// <summary>
    /// The same plain client presenting an SVID with its intermediates (a chain of more than one CA needs them in the
    /// handshake), over HTTP/1.1 with keep-alive.
    /// </summary>
    public static HttpClient RawClient(WorkloadCertificate svid)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = SslStreamCertificateContext.Create(svid.Certificate, svid.Intermediates, offline: true),
                RemoteCertificateValidationCallback = ServerTrustedByTestCa,
            },
        };
        return new HttpClient(handler) { DefaultRequestVersion = System.Net.HttpVersion.Version11, Timeout = TimeSpan.FromSeconds(20) };
    }

    internal static bool ServerTrustedByTestCa(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is not X509Certificate2 leaf)
        {
            return false;
        }

        using var verify = new X509Chain();
        verify.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        verify.ChainPolicy.CustomTrustStore.Add(TestPki.Ca.Certificate);
        verify.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return verify.Build(leaf);
    }
}
