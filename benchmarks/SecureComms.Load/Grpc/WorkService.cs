using Grpc.Core;

namespace SecureComms.Load.Rpc;

/// <summary>The gRPC counterpart of <c>GET /work</c>: <c>/securecomms.load.Work/Do</c> answers the same body.</summary>
internal sealed class WorkService : Work.WorkBase
{
    /// <summary>The full method path, as a central rule names it.</summary>
    public const string DoPath = "/securecomms.load.Work/Do";

    private static readonly Task<WorkReply> Reply = Task.FromResult(new WorkReply { Body = LoadServers.Body });

    public override Task<WorkReply> Do(WorkRequest request, ServerCallContext context) => Reply;
}
