using Grpc.Core;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms.Testing;

/// <summary>The gRPC service <c>SpiffeWorkloadAPI</c> of a <see cref="DevelopmentWorkloadApiServer"/>.</summary>
internal sealed class WorkloadApiService(DevelopmentWorkloadApiServer server) : SpiffeWorkloadAPI.SpiffeWorkloadAPIBase
{
    public override Task FetchX509SVID(X509SVIDRequest request, IServerStreamWriter<X509SVIDResponse> responseStream, ServerCallContext context) =>
        server.FetchX509SvidAsync(responseStream, context);

    public override Task FetchX509Bundles(X509BundlesRequest request, IServerStreamWriter<X509BundlesResponse> responseStream, ServerCallContext context) =>
        server.FetchX509BundlesAsync(responseStream, context);

    public override Task<JWTSVIDResponse> FetchJWTSVID(JWTSVIDRequest request, ServerCallContext context) =>
        Task.FromResult(server.FetchJwtSvid(request, context));

    public override Task FetchJWTBundles(JWTBundlesRequest request, IServerStreamWriter<JWTBundlesResponse> responseStream, ServerCallContext context) =>
        server.FetchJwtBundlesAsync(responseStream, context);

    public override Task<ValidateJWTSVIDResponse> ValidateJWTSVID(ValidateJWTSVIDRequest request, ServerCallContext context) =>
        server.ValidateJwtSvidAsync(request, context);
}
