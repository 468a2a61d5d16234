using Grpc.Core;

namespace SecureComms.Load.Rpc;

/// <summary>The load harness's gRPC calls: one unary <c>Do</c>, checked like the HTTP modes check their 200 and body.</summary>
internal static class WorkCalls
{
    // A request message is only read while it is serialized, so every call can send the same empty one.
    private static readonly WorkRequest Empty = new();

    /// <summary>One unary call; true when it returned the expected body (a failed call throws <see cref="RpcException"/>).</summary>
    public static async Task<bool> CallAsync(Work.WorkClient client, CancellationToken cancellationToken)
    {
        WorkReply reply = await client.DoAsync(Empty, cancellationToken: cancellationToken).ConfigureAwait(false);
        return reply.Body == LoadServers.Body;
    }

    /// <summary>The status one call ends with: <see cref="StatusCode.OK"/> only with the expected body.</summary>
    public static async Task<StatusCode> StatusAsync(Work.WorkClient client)
    {
        try
        {
            return await CallAsync(client, CancellationToken.None).ConfigureAwait(false) ? StatusCode.OK : StatusCode.Unknown;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }
}
