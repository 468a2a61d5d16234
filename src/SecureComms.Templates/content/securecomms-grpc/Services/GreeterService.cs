using Grpc.Core;
using SecureComms;

namespace SecureComms.Grpc1.Services;

/// <summary>
/// The gRPC service. By the time a method runs, SecureComms has checked the caller's X.509-SVID in the handshake, its
/// certificate-bound access token and the authorization rules for the method's path; the caller's SPIFFE ID is
/// <c>HttpContext.User</c>, here read with <c>GetCallerSpiffeId()</c>.
/// </summary>
internal sealed class GreeterService : Greeter.GreeterBase
{
    public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context) =>
        Task.FromResult(new HelloReply { Message = $"hello {context.GetHttpContext().GetCallerSpiffeId()}, this is billing" });
}
