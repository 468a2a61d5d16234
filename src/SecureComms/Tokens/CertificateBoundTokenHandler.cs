using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace SecureComms;

/// <summary>
/// Adds <c>Authorization: Bearer</c> with a certificate-bound token to every request of a SecureComms client. No token,
/// no request: a <see cref="TokenAcquisitionException"/> propagates and nothing is sent. A 401 with
/// <c>error="invalid_token"</c> (RFC 6750 §3.1) renews the token once and replays the request when it can be replayed,
/// unless the challenge says that the user context, not the token, was refused
/// (<see cref="SecureCommsUserContext.RefusedChallengeParameter"/>).
/// </summary>
/// <remarks>
/// With token exchange (RFC 8693) the subject token is <see cref="SecureCommsTokenExchange.SubjectToken"/> when the
/// request sets it, else the bearer token of the request being served (<paramref name="servedRequest"/>, when the host
/// registered one); without one the request is not sent.
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
        HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || !SaysInvalidToken(response) || !CanReplay(request))
        {
            return response;
        }

        provider.Invalidate(token);
        AccessToken renewed = subject is null
            ? await provider.GetTokenAsync(cancellationToken).ConfigureAwait(false)
            : await provider.GetExchangedTokenAsync(subject, cancellationToken).ConfigureAwait(false);
        if (ReferenceEquals(renewed, token))
        {
            return response;
        }

        response.Dispose();
        SetAuthorization(request, renewed);
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

    /// <summary>Only bodies held in memory can be sent again; a streamed body may already be consumed.</summary>
    private static bool CanReplay(HttpRequestMessage request) =>
        request.Content is null or ByteArrayContent or ReadOnlyMemoryContent or JsonContent;
}
