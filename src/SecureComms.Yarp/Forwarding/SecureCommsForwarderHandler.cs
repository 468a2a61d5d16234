using System.Diagnostics;
using System.Net.Http.Headers;

namespace SecureComms;

/// <summary>
/// The handler YARP sends a cluster's requests to: removes what an outside caller could forge or what must stay at the
/// edge, then sends through the current pipeline of the SecureComms client, as <c>IHttpClientFactory</c> hands it out
/// (so handler lifetimes and configuration reloads apply as for any client).
/// </summary>
internal sealed class SecureCommsForwarderHandler : HttpMessageHandler
{
    /// <summary>
    /// Headers only SecureComms writes (the user context), the end user's credential at the edge, and the forwarded
    /// client-certificate headers SecureComms' receivers read: RFC 9440 <c>Client-Cert</c>/<c>Client-Cert-Chain</c>,
    /// Envoy's <c>X-Forwarded-Client-Cert</c>, nginx's <c>X-Client-Cert</c>.
    /// </summary>
    internal static readonly string[] StrippedHeaders =
    [
        SecureCommsUserContext.HeaderName,
        "Authorization",
        "Client-Cert",
        "Client-Cert-Chain",
        "X-Forwarded-Client-Cert",
        "X-Client-Cert",
    ];

    private readonly IHttpMessageHandlerFactory _handlers;
    private readonly string _clientName;
    private readonly string[] _traceHeaders;
    private Pipeline? _pipeline;

    public SecureCommsForwarderHandler(IHttpMessageHandlerFactory handlers, string clientName)
    {
        _handlers = handlers;
        _clientName = clientName;
        _traceHeaders = [.. DistributedContextPropagator.Current.Fields];
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        HttpRequestHeaders headers = request.Headers;
        foreach (string name in StrippedHeaders)
        {
            headers.Remove(name);
        }

        if (Activity.Current is not null)
        {
            // As YARP's ReverseProxyPropagator: the outgoing request carries the gateway's trace context (the client's
            // span, child of the gateway's request span), not the caller's headers copied through, which the HTTP
            // client would otherwise leave in place.
            foreach (string name in _traceHeaders)
            {
                headers.Remove(name);
            }
        }

        return CurrentPipeline().SendAsync(request, cancellationToken);
    }

    /// <summary>The client's pipeline as the factory hands it out now; a new invoker only when the factory rotated it.</summary>
    private HttpMessageInvoker CurrentPipeline()
    {
        HttpMessageHandler handler = _handlers.CreateHandler(_clientName);
        Pipeline? pipeline = Volatile.Read(ref _pipeline);
        if (pipeline is null || !ReferenceEquals(pipeline.Handler, handler))
        {
            pipeline = new Pipeline(handler, new HttpMessageInvoker(handler, disposeHandler: false)); // the factory owns it
            Volatile.Write(ref _pipeline, pipeline);
        }

        return pipeline.Invoker;
    }

    private sealed record Pipeline(HttpMessageHandler Handler, HttpMessageInvoker Invoker);
}
