using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Configures Kestrel's listeners from <see cref="SecureCommsServerOptions"/>: HTTPS listeners whose handshake is
/// driven by <see cref="ServerTlsOptionsProvider"/>, plus the plaintext listeners opened on purpose.
/// </summary>
internal sealed class KestrelMtlsSetup(
    IOptions<SecureCommsServerOptions> serverOptions,
    ServerTlsOptionsProvider tls) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions options)
    {
        SecureCommsServerOptions server = serverOptions.Value;
        var handshake = new TlsHandshakeCallbackOptions
        {
            OnConnection = _ => ValueTask.FromResult(tls.GetOptions()),
            HandshakeTimeout = server.HandshakeTimeout,
        };

        IEnumerable<string> urls = server.Urls.Count > 0 ? server.Urls : [SecureCommsServerOptions.DefaultUrl];
        foreach (string url in urls)
        {
            Listen(options, url, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(handshake);
            });
        }

        foreach (PlaintextEndpointOptions plaintext in server.PlaintextEndpoints.Values)
        {
            Listen(options, plaintext.Url!, listen => listen.Protocols = HttpProtocols.Http1);
        }
    }

    private static void Listen(KestrelServerOptions options, string url, Action<ListenOptions> configure)
    {
        if (!ListenAddress.TryParse(url, out ListenAddress address, out string? error))
        {
            throw new InvalidOperationException($"SecureComms listener '{url}': {error}");
        }

        if (address.IsLocalhost)
        {
            options.ListenLocalhost(address.Port, configure);
        }
        else
        {
            options.Listen(new IPEndPoint(address.Address!, address.Port), configure);
        }
    }
}
