using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace SecureComms;

/// <summary>
/// Whether a YARP cluster can be forwarded through SecureComms: a SecureComms client of the cluster's name whose
/// pipeline ends in the mutual-TLS handler, <c>https://</c> destinations, no YARP <c>HttpClient</c> settings that would
/// be silently ignored, and a connection hook that leaves cookies, decompression and the system proxy off, as YARP's
/// own forwarder client has them (<c>ForwarderHttpClientFactory</c>).
/// </summary>
internal sealed class ClusterClientCheck(IServiceProvider services, IHttpMessageHandlerFactory handlers)
{
    /// <summary>Every problem of <paramref name="cluster"/>, each naming what to change; empty when it can be forwarded.</summary>
    public List<string> Problems(ClusterConfig cluster)
    {
        List<string> problems = ClientProblems(cluster.ClusterId, cluster.HttpClient);
        if (cluster.Destinations is not null)
        {
            foreach ((string name, DestinationConfig destination) in cluster.Destinations)
            {
                if (!Uri.TryCreate(destination.Address, UriKind.Absolute, out Uri? address) || address.Scheme != Uri.UriSchemeHttps)
                {
                    problems.Add($"ReverseProxy:Clusters:{cluster.ClusterId}:Destinations:{name}:Address '{destination.Address}' must be an absolute https:// address: SecureComms sends nothing in plaintext.");
                }
            }
        }

        return problems;
    }

    /// <summary>The problems of the SecureComms client behind cluster <paramref name="clusterId"/> and of YARP's client settings for it.</summary>
    public List<string> ClientProblems(string clusterId, HttpClientConfig? yarpClient)
    {
        var problems = new List<string>();
        LastGoodOptions<SecureCommsOptions>? options = services.GetService<LastGoodOptions<SecureCommsOptions>>();
        if (options is null)
        {
            problems.Add("SecureComms is not registered: call builder.Services.AddSecureComms(builder.Configuration) (or AddSecureCommsCore) as well as AddReverseProxy().ForwardThroughSecureCommsClients().");
            return problems;
        }

        if (!options.Current.Clients.TryGetValue(clusterId, out SecureClientOptions? client) || !EndsInMutualTls(handlers.CreateHandler(clusterId)))
        {
            problems.Add(
                $"YARP cluster '{clusterId}' has no SecureComms client of the same name: add SecureComms:Clients:{clusterId} with ExpectedServer = the backend's SPIFFE ID "
                + $"(or services.AddHttpClient(\"{clusterId}\").AddSecureComms(\"spiffe://…\")). A cluster is never forwarded through a plain HttpClient.");
        }
        else if (ForwarderUnsafeHookSetting(client) is { } setting)
        {
            problems.Add(
                $"SecureComms client '{clusterId}' forwards YARP cluster '{clusterId}', but its connection hook (ConfigureSecureCommsHandler) {setting}: "
                + "a forwarder passes cookies, compressed bodies and proxies' choices through as they are, so leave it off for this client.");
        }

        if (yarpClient is not null && ConfiguredYarpClientSettings(yarpClient) is { Count: > 0 } settings)
        {
            foreach (string setting in settings)
            {
                problems.Add(
                    $"ReverseProxy:Clusters:{clusterId}:HttpClient:{setting} would not apply: the cluster forwards through SecureComms client '{clusterId}', which owns TLS and its connections. "
                    + $"Configure connections with services.AddHttpClient(\"{clusterId}\").ConfigureSecureCommsHandler(...), and remove the setting.");
            }
        }

        return problems;
    }

    /// <summary>True when the last handler of the pipeline is SecureComms' mutual-TLS handler (not a plain socket handler).</summary>
    internal static bool EndsInMutualTls(HttpMessageHandler handler)
    {
        while (handler is DelegatingHandler delegating && delegating.InnerHandler is { } inner)
        {
            handler = inner;
        }

        return handler is MtlsClientHandler;
    }

    /// <summary>
    /// Runs the client's connection hook on a handler set up as SecureComms sets it up, and names what it turned on that
    /// YARP's forwarder client keeps off (SecureComms itself keeps redirects off whatever the hook does).
    /// </summary>
    private static string? ForwarderUnsafeHookSetting(SecureClientOptions client)
    {
        if (client.ConfigureHandler is not { } configure)
        {
            return null;
        }

        using var probe = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false };
        try
        {
            configure(probe);
        }
#pragma warning disable CA1031 // the hook is the application's code: whatever it throws is reported as the problem
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return $"throws {ex.GetType().Name}: {ex.Message}";
        }

        return probe.UseCookies ? "turns cookies on (UseCookies)"
            : probe.AutomaticDecompression != DecompressionMethods.None ? $"turns on automatic decompression ({probe.AutomaticDecompression})"
            : probe.UseProxy && probe.Proxy is null ? "uses the system proxy (UseProxy without a Proxy)"
            : null;
    }

    private static List<string> ConfiguredYarpClientSettings(HttpClientConfig config)
    {
        var settings = new List<string>();
        if (config.SslProtocols is not null)
        {
            settings.Add(nameof(HttpClientConfig.SslProtocols));
        }

        if (config.DangerousAcceptAnyServerCertificate is true)
        {
            settings.Add(nameof(HttpClientConfig.DangerousAcceptAnyServerCertificate));
        }

        if (config.MaxConnectionsPerServer is not null)
        {
            settings.Add(nameof(HttpClientConfig.MaxConnectionsPerServer));
        }

        if (config.EnableMultipleHttp2Connections is not null)
        {
            settings.Add(nameof(HttpClientConfig.EnableMultipleHttp2Connections));
        }

        if (config.RequestHeaderEncoding is not null)
        {
            settings.Add(nameof(HttpClientConfig.RequestHeaderEncoding));
        }

        if (config.ResponseHeaderEncoding is not null)
        {
            settings.Add(nameof(HttpClientConfig.ResponseHeaderEncoding));
        }

        if (config.WebProxy is not null)
        {
            settings.Add(nameof(HttpClientConfig.WebProxy));
        }

        return settings;
    }
}
