using System.Net;
using System.Net.Http.Headers;

namespace SecureComms.Load;

/// <summary>The harness's request: <c>GET /work</c>, with a bearer token where the caller adds one itself.</summary>
internal static class WorkRequests
{
    /// <summary>The endpoint every mode serves.</summary>
    public static readonly Uri Work = new("/work", UriKind.Relative);

    /// <summary>One request; <see langword="true"/> when it was answered 200 with the endpoint's body.</summary>
    public static async Task<bool> SendAsync(HttpClient client, Version version, CancellationToken cancellationToken, bool closeConnection = false, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/work") { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        if (closeConnection)
        {
            request.Headers.ConnectionClose = true;
        }

        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using HttpResponseMessage response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.OK && body == LoadServers.Body;
    }

    /// <summary>The status of one HTTP/1.1 request with <paramref name="bearer"/>.</summary>
    public static async Task<HttpStatusCode> StatusAsync(HttpClient client, string bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/work");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using HttpResponseMessage response = await client.SendAsync(request).ConfigureAwait(false);
        return response.StatusCode;
    }
}
