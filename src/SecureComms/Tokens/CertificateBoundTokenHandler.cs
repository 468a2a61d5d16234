using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace SecureComms;

/// <summary>
/// Adds <c>Authorization: Bearer</c> with a certificate-bound token to every request of a SecureComms client. No token,
/// no request: a <see cref="TokenAcquisitionException"/> propagates and nothing is sent. A 401 with
/// <c>error="invalid_token"</c> (RFC 6750 §3.1) renews the token once and replays the request when it can be replayed
/// (a request that cannot be replayed returns the 401, and the next request gets a new token), unless the challenge says
/// that the user context, not the token, was refused (<see cref="SecureCommsUserContext.RefusedChallengeParameter"/>).
/// </summary>
/// <remarks>
/// <para>
/// A gRPC call refused with <c>grpc-status: 16</c> (Unauthenticated) and the same <c>invalid_token</c> challenge renews
/// the token the same way. It is replayed only when its whole request had been sent before the refusal came: unary and
/// server-streaming calls. Client- and duplex-streaming calls are never replayed (their messages are written by the
/// application over time and cannot be sent again): the call ends with Unauthenticated, and the next call gets a new
/// token. A request larger than <see cref="RecordedGrpcRequestContent.MaxRecordedBytes"/> is not replayed either.
/// </para>
/// <para>
/// With token exchange (RFC 8693) the subject token is <see cref="SecureCommsTokenExchange.SubjectToken"/> when the
/// request sets it, else the bearer token of the request being served (<paramref name="servedRequest"/>, when the host
/// registered one); without one the request is not sent.
/// </para>
/// </remarks>
internal sealed class CertificateBoundTokenHandler(CertificateBoundTokenProvider provider, bool exchange = false, IServedRequestAccessor? servedRequest = null) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        string? subject = exchange ? SubjectToken(request) : null;
        AccessToken token = subject is null
            ? await provider.GetTokenAsync(cancellationToken).ConfigureAwait(false)
            : await provider.GetExchangedTokenAsync(subject, cancellationToken).ConfigureAwait(false);
        SetAuthorization(request, token);
        RecordedGrpcRequestContent? grpc = null;
        if (request.Content is { } content && IsGrpc(content))
        {
            request.Content = grpc = new RecordedGrpcRequestContent(content);
        }

        HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if ((grpc is null ? response.StatusCode != HttpStatusCode.Unauthorized : !IsUnauthenticated(response)) || !SaysInvalidToken(response))
        {
            return response;
        }

        // The receiver called this token invalid: the next request gets a new one, whether or not this one is replayed.
        // A gRPC call's recording is read now, so that a request still being written when the refusal came is not replayed.
        provider.Invalidate(token);
        HttpContent? replay = grpc?.TryCreateReplay();
        if (grpc is null ? !CanReplay(request) : replay is null)
        {
            return response;
        }

        AccessToken renewed = subject is null
            ? await provider.GetTokenAsync(cancellationToken).ConfigureAwait(false)
            : await provider.GetExchangedTokenAsync(subject, cancellationToken).ConfigureAwait(false);
        if (ReferenceEquals(renewed, token))
        {
            replay?.Dispose();
            return response;
        }

        response.Dispose();
        SetAuthorization(request, renewed);
        if (replay is not null)
        {
            request.Content = replay; // the recorded bytes, with the same content headers
            grpc!.Dispose(); // sent in full: nothing reads it again
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The token to exchange: set on the request, else the bearer token of the request being served.</summary>
    private string SubjectToken(HttpRequestMessage request)
    {
        if (request.Options.TryGetValue(SecureCommsTokenExchange.SubjectToken, out string? explicitToken) && !string.IsNullOrEmpty(explicitToken))
        {
            return explicitToken;
        }

        if (servedRequest?.BearerToken is { } served)
        {
            return served;
        }

        throw new TokenAcquisitionException(
            "no_subject_token",
            "token exchange needs a subject token: the request being served carried no bearer token and none was set with SecureCommsTokenExchange.SubjectToken.",
            null);
    }

    /// <summary>
    /// The prebuilt header value, added as is: no header object and no formatting per request; and the certificate the
    /// token is bound to, so that the primary handler sends it on a connection presenting that very certificate
    /// (RFC 8705 §3), also while an earlier certificate and its token are still used after a rotation.
    /// </summary>
    private static void SetAuthorization(HttpRequestMessage request, AccessToken token)
    {
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", token.AuthorizationHeaderValue);
        request.Options.Set(MtlsClientHandler.BoundCertificate, token.Certificate);
    }

    private static bool SaysInvalidToken(HttpResponseMessage response)
    {
        foreach (AuthenticationHeaderValue challenge in response.Headers.WwwAuthenticate)
        {
            if (string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
                && challenge.Parameter is { } parameter
                && parameter.Contains("error=\"invalid_token\"", StringComparison.Ordinal)
                && !parameter.Contains(SecureCommsUserContext.RefusedChallengeParameter, StringComparison.Ordinal)) // the token was fine
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A gRPC call (content type <c>application/grpc</c>, alone or with <c>+format</c> or parameters): its refusals come as
    /// gRPC statuses, and its content is recorded so that it can be replayed (<see cref="RecordedGrpcRequestContent"/>).
    /// </summary>
    private static bool IsGrpc(HttpContent content)
    {
        const string Grpc = "application/grpc";
        return content.Headers.ContentType?.MediaType is { } type
            && type.StartsWith(Grpc, StringComparison.OrdinalIgnoreCase)
            && (type.Length == Grpc.Length || type[Grpc.Length] == '+');
    }

    /// <summary>
    /// A gRPC call refused before it started: a Trailers-Only response with <c>grpc-status: 16</c> (Unauthenticated,
    /// PROTOCOL-HTTP2.md), or the HTTP 401 of a server that answers gRPC calls with HTTP statuses.
    /// </summary>
    private static bool IsUnauthenticated(HttpResponseMessage response)
    {
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            return true;
        }

        return response.StatusCode == HttpStatusCode.OK
            && response.Headers.NonValidated.TryGetValues("grpc-status", out HeaderStringValues status)
            && status.Count == 1
            && string.Equals(status.ToString(), "16", StringComparison.Ordinal);
    }

    /// <summary>Only bodies held in memory can be sent again; a streamed body may already be consumed.</summary>
    private static bool CanReplay(HttpRequestMessage request) =>
        request.Content is null or ByteArrayContent or ReadOnlyMemoryContent or JsonContent;
}
