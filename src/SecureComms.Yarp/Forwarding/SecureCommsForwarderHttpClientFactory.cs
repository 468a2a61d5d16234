using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace SecureComms;

/// <summary>
/// YARP's client for a cluster: the pipeline of the SecureComms client of the same name, from
/// <see cref="IHttpMessageHandlerFactory"/>, instead of YARP's own <see cref="SocketsHttpHandler"/>.
/// </summary>
internal sealed class SecureCommsForwarderHttpClientFactory(
    IHttpMessageHandlerFactory handlers,
    ClusterClientCheck check,
    ILogger<SecureCommsForwarderHttpClientFactory> logger) : IForwarderHttpClientFactory
{
    public HttpMessageInvoker CreateClient(ForwarderHttpClientContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.OldClient is not null && context.NewConfig == context.OldConfig)
        {
            return context.OldClient; // same cluster, same settings: keep its connections
        }

        // The cluster validator has refused such a cluster already; this holds also when someone removed the validator.
        List<string> problems = check.ClientProblems(context.ClusterId, context.NewConfig);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
        }

        ForwardingLog.ClusterForwarded(logger, context.ClusterId);
        return new HttpMessageInvoker(new SecureCommsForwarderHandler(handlers, context.ClusterId), disposeHandler: true);
    }
}
