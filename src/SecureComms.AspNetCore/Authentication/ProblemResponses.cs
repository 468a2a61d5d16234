using Microsoft.AspNetCore.Http;

namespace SecureComms;

/// <summary>
/// Short RFC 9457 problem details for refusals: status, title and a reason the caller may know. Every SecureComms refusal
/// is written here; a gRPC call's is written as a gRPC status instead (<see cref="GrpcRefusal"/>), with the same reason.
/// </summary>
internal static class ProblemResponses
{
    internal static Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        if (GrpcRefusal.IsGrpcRequest(context.Request))
        {
            return GrpcRefusal.WriteAsync(context, status, detail);
        }

        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(
            new ProblemBody(title, status, detail),
            ProblemJsonContext.Default.ProblemBody,
            "application/problem+json",
            context.RequestAborted);
    }
}

/// <summary>The problem document.</summary>
internal sealed record ProblemBody(string Title, int Status, string Detail);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ProblemBody))]
internal sealed partial class ProblemJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
