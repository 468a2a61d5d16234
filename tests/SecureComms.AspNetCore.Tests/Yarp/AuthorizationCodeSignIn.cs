using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Tests.Tokens.Interop;

namespace SecureComms.AspNetCore.Tests.Yarp;

/// <summary>
/// An end user signing in at node-oidc-provider as a browser does: the authorization code flow (RFC 6749 §4.1) with
/// PKCE (RFC 7636, S256) for a public client, through the provider's own development login and consent pages, its
/// cookies kept and every redirect followed by hand until the provider sends the code to the client's redirect URI;
/// then the client redeems the code at the token endpoint.
/// </summary>
internal static partial class AuthorizationCodeSignIn
{
    /// <summary>More than the flow needs (authorize, login, resume, consent, resume, code): a loop is a failure.</summary>
    private const int MaxSteps = 12;

    /// <summary>Signs <paramref name="login"/> in and returns the access token issued for <paramref name="resource"/>.</summary>
    public static async Task<string> AccessTokenAsync(NodeOidcProvider provider, string clientId, Uri redirectUri, string scope, string resource, string login)
    {
        using var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false, // the redirects are the flow: each one is looked at
            UseCookies = true,
            CookieContainer = new CookieContainer(),
            SslOptions = { RemoteCertificateValidationCallback = TestClients.ServerTrustedByTestCa },
        };
        using var browser = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };

        string verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        string challenge = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))); // RFC 7636 §4.2
        string state = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        var address = new Uri(QueryHelpers.AddQueryString(new Uri(provider.Issuer, "/auth").ToString(), new Dictionary<string, string?>
        {
            ["client_id"] = clientId,
            ["response_type"] = "code",
            ["redirect_uri"] = redirectUri.ToString(),
            ["scope"] = scope,
            ["resource"] = resource, // RFC 8707 §2.1
            ["state"] = state,
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = "S256",
        }));

        HttpResponseMessage response = await browser.GetAsync(address);
        for (int step = 0; step < MaxSteps; step++)
        {
            string body = await response.Content.ReadAsStringAsync();
            HttpStatusCode status = response.StatusCode;
            Uri? location = response.Headers.Location is { } next ? new Uri(address, next) : null;
            response.Dispose();
            if (status is HttpStatusCode.Found or HttpStatusCode.SeeOther && location is not null)
            {
                if (location.GetLeftPart(UriPartial.Path) == redirectUri.GetLeftPart(UriPartial.Path))
                {
                    Dictionary<string, StringValues> answer = QueryHelpers.ParseQuery(location.Query);
                    Assert.IsTrue(answer.ContainsKey("code"), $"the provider answered the client with {location.Query} — provider: {provider.Errors}");
                    Assert.AreEqual(state, answer["state"].ToString(), "RFC 6749 §4.1.2: the state comes back unchanged");
                    return await RedeemAsync(browser, provider, clientId, redirectUri, resource, answer["code"].ToString(), verifier);
                }

                address = location;
                response = await browser.GetAsync(address);
                continue;
            }

            Assert.AreEqual(HttpStatusCode.OK, status, $"{address}: {body} — provider: {provider.Errors}");
            Match form = FormAction().Match(body);
            Match prompt = PromptField().Match(body);
            Assert.IsTrue(form.Success && prompt.Success, $"no login or consent form at {address}: {body}");
            var fields = new Dictionary<string, string> { ["prompt"] = prompt.Groups[1].Value };
            if (prompt.Groups[1].Value == "login")
            {
                fields["login"] = login;
                fields["password"] = "any password"; // devInteractions accepts any
            }

            address = new Uri(address, WebUtility.HtmlDecode(form.Groups[1].Value));
            using var content = new FormUrlEncodedContent(fields);
            response = await browser.PostAsync(address, content);
        }

        response.Dispose();
        throw new AssertFailedException($"the sign-in did not reach {redirectUri} in {MaxSteps} steps; last at {address}");
    }

    /// <summary>RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5); a public client names itself with client_id.</summary>
    private static async Task<string> RedeemAsync(HttpClient browser, NodeOidcProvider provider, string clientId, Uri redirectUri, string resource, string code, string verifier)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = clientId,
            ["code"] = code,
            ["redirect_uri"] = redirectUri.ToString(),
            ["code_verifier"] = verifier,
            ["resource"] = resource,
        });
        using HttpResponseMessage response = await browser.PostAsync(new Uri(provider.Issuer, "/token"), form);
        string body = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, $"{body} — provider: {provider.Errors}");
        using JsonDocument json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    [GeneratedRegex("<form[^>]*\\saction=\"([^\"]+)\"", RegexOptions.IgnoreCase)]
    private static partial Regex FormAction();

    [GeneratedRegex("<input[^>]*name=\"prompt\"[^>]*value=\"([^\"]+)\"", RegexOptions.IgnoreCase)]
    private static partial Regex PromptField();
}
