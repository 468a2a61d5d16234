using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Configuration.ClusterValidators;
using Yarp.ReverseProxy.Forwarder;

namespace SecureComms;

/// <summary>Makes YARP forward over SecureComms mutual TLS.</summary>
public static class SecureCommsReverseProxyBuilderExtensions
{
    /// <summary>
    /// Forwards the requests of every YARP cluster through the SecureComms client of the same name
    /// (<c>SecureComms:Clients:{clusterId}</c>, or <c>services.AddHttpClient(clusterId).AddSecureComms(...)</c>): the
    /// whole outbound pipeline of that client — the workload's SVID presented, the backend's SPIFFE ID checked
    /// (<c>ExpectedServer</c>), a certificate-bound token when <c>Token</c> is set, a user context minted from the
    /// authenticated end user when <c>UserContext:Mode</c> is <c>Mint</c>, certificate rotation, telemetry — as for any
    /// SecureComms client.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Fail closed: a cluster without a SecureComms client of its name, with a destination that is not <c>https://</c>,
    /// with YARP's own <c>HttpClient</c> settings (TLS, proxy and connections are the SecureComms client's, see
    /// <c>ConfigureSecureCommsHandler</c>), or whose client's connection hook turns on what a forwarder must not
    /// (cookies, automatic decompression, the system proxy), is refused with every problem named: on the first load the
    /// application does not start; on a later reload YARP logs the errors and keeps the last good configuration. No
    /// cluster is ever forwarded through a plain <c>HttpClient</c>.
    /// </para>
    /// <para>
    /// Before the client's pipeline runs, each forwarded request loses the headers that only SecureComms may write or
    /// that a caller outside could forge: <see cref="SecureCommsUserContext.HeaderName"/> (a client in <c>Mint</c>
    /// mode adds the gateway's own), <c>Authorization</c> (the end user's credential stays at the edge; a client with
    /// <c>Token</c> sends the gateway's bound token), and the forwarded-certificate headers SecureComms reads
    /// (<c>Client-Cert</c>, <c>Client-Cert-Chain</c>, <c>X-Forwarded-Client-Cert</c>, <c>X-Client-Cert</c>). The
    /// incoming trace headers are replaced by the gateway's own trace context, as YARP's own client does, so one trace
    /// runs through the gateway.
    /// </para>
    /// </remarks>
    /// <param name="builder">The builder <c>AddReverseProxy()</c> returned; register SecureComms with <c>AddSecureComms</c> too.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IReverseProxyBuilder ForwardThroughSecureCommsClients(this IReverseProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHttpClient(); // IHttpMessageHandlerFactory
        builder.Services.TryAddSingleton<ClusterClientCheck>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory, SecureCommsForwarderHttpClientFactory>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IClusterValidator, SecureCommsClusterValidator>());
        return builder;
    }
}
