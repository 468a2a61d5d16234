using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace SecureComms;

/// <summary>
/// Adds <c>Authorization: Bearer</c> with a certificate-bound token to every request of a SecureComms client. No token,
/// no request: a <see cref="TokenAcquisitionException"/> propagates and nothing is sent. A 401 with
/// <c>error="invalid_token"</c> (RFC 6750 §3.1) renews the token once and replays the request when it can be replayed.
/// </summary>
internal sealed class CertificateBoundTokenHandler(CertificateBoundTokenProvider provider) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        AccessToken token = await provider.GetTokenAsync(cancellationToken).ConfigureAwait(false);
        SetAuthorization(request, token);
        HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || !SaysInvalidToken(response) || !CanReplay(request))
        {
            return response;
        }

        provider.Invalidate(token);
        AccessToken renewed = await provider.GetTokenAsync(cancellationToken).ConfigureAwait(false);
        if (ReferenceEquals(renewed, token))
        {
            return response;
        }

        response.Dispose();
        SetAuthorization(request, renewed);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The prebuilt header value, added as is: no header object and no formatting per request.</summary>
    private static void SetAuthorization(HttpRequestMessage request, AccessToken token)
    {
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", token.AuthorizationHeaderValue);
    }

    private static bool SaysInvalidToken(HttpResponseMessage response)
    {
        foreach (AuthenticationHeaderValue challenge in response.Headers.WwwAuthenticate)
        {
            if (string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
                && challenge.Parameter is { } parameter
                && parameter.Contains("error=\"invalid_token\"", StringComparison.Ordinal)
                && !parameter.Contains("error_description=\"The user context", StringComparison.Ordinal)) // the token was fine
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
