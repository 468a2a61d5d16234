using System.Text;
using Microsoft.AspNetCore.Http;

namespace SecureComms;

/// <summary>
/// SecureComms' refusals of a gRPC request, written as gRPC clients read them: a "Trailers-Only" response
/// (PROTOCOL-HTTP2.md, "Responses"): HTTP 200, <c>content-type: application/grpc</c>, <c>grpc-status</c> and a
/// percent-encoded <c>grpc-message</c> in the headers, no body. A problem+json body would reach a gRPC client as a
/// protocol error ("Bad gRPC response") with the reason lost. Headers the refusal set before (the RFC 6750
/// <c>WWW-Authenticate</c> challenge, <c>Retry-After</c>) stay: gRPC clients expose them as the call's trailers.
/// </summary>
internal static class GrpcRefusal
{
    /// <summary>The gRPC content type (PROTOCOL-HTTP2.md: <c>application/grpc</c> [("+proto" / "+json" / {custom})]).</summary>
    internal const string ContentType = "application/grpc";

    /// <summary>The caller is over its rate limit: gRPC's answer to an HTTP 429 (codes from grpc/doc/statuscodes.md).</summary>
    internal const int ResourceExhausted = 8;

    /// <summary>The caller is known but not allowed: gRPC's answer to an HTTP 403.</summary>
    internal const int PermissionDenied = 7;

    /// <summary>No valid caller identity or token: gRPC's answer to an HTTP 401.</summary>
    internal const int Unauthenticated = 16;

    /// <summary>
    /// Whether <paramref name="request"/> is a gRPC call: its content type is <c>application/grpc</c>, alone or followed by
    /// <c>+</c> (a message format) or <c>;</c> (parameters), the test Grpc.AspNetCore applies. gRPC-Web
    /// (<c>application/grpc-web</c>) is not matched: its clients read statuses differently.
    /// </summary>
    internal static bool IsGrpcRequest(HttpRequest request)
    {
        string? contentType = request.ContentType;
        return contentType is not null
            && contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase)
            && (contentType.Length == ContentType.Length || contentType[ContentType.Length] is '+' or ';');
    }

    /// <summary>The gRPC status for an HTTP refusal status: 401 Unauthenticated, 403 PermissionDenied, 429 ResourceExhausted.</summary>
    internal static int StatusFor(int httpStatus) => httpStatus switch
    {
        StatusCodes.Status401Unauthorized => Unauthenticated,
        StatusCodes.Status403Forbidden => PermissionDenied,
        StatusCodes.Status429TooManyRequests => ResourceExhausted,
        _ => 2, // Unknown: SecureComms refuses with the three statuses above only
    };

    /// <summary>
    /// Writes the Trailers-Only refusal for an HTTP refusal status and its short reason (the same text a problem body
    /// carries; never token contents). Does nothing once the response has started.
    /// </summary>
    internal static Task WriteAsync(HttpContext context, int httpStatus, string message)
    {
        HttpResponse response = context.Response;
        if (response.HasStarted)
        {
            return Task.CompletedTask;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        IHeaderDictionary headers = response.Headers;
        headers["grpc-status"] = StatusText(StatusFor(httpStatus));
        headers["grpc-message"] = PercentEncode(message);

        // No body: the request ends with the headers alone, which Kestrel sends with END_STREAM (RFC 9113 §8.1), what
        // makes this a Trailers-Only response. Not completed here, so that another scheme's challenge can still add its
        // header, as it can to a problem response.
        return Task.CompletedTask;
    }

    private static string StatusText(int status) => status switch
    {
        Unauthenticated => "16",
        PermissionDenied => "7",
        ResourceExhausted => "8",
        _ => "2",
    };

    /// <summary>
    /// PROTOCOL-HTTP2.md, Status-Message: the UTF-8 bytes of the message, where every byte outside %x20-%x7E, and
    /// <c>%</c> itself, is written as <c>%</c> and two upper-case hex digits. The reasons SecureComms writes are plain
    /// ASCII, returned as they are.
    /// </summary>
    internal static string PercentEncode(string message)
    {
        int i = 0;
        while (i < message.Length && message[i] is >= ' ' and <= '~' and not '%')
        {
            i++;
        }

        if (i == message.Length)
        {
            return message;
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(message);
        var encoded = new StringBuilder(utf8.Length + 16);
        foreach (byte b in utf8)
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append('%').Append(HexUpper[b >> 4]).Append(HexUpper[b & 0xF]);
            }
        }

        return encoded.ToString();
    }

    private const string HexUpper = "0123456789ABCDEF";
}
