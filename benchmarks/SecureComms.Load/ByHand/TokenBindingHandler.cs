using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;

namespace SecureComms.Load.ByHand;

/// <summary>The access token must be bound to the client certificate of the connection it came on (RFC 8705 §3).</summary>
internal sealed class TokenBindingRequirement : IAuthorizationRequirement;

/// <summary>
/// Compares the validated token's <c>cnf</c> <c>x5t#S256</c> (RFC 8705 §3.1: the base64url SHA-256 of the certificate's
/// DER) with the certificate of this request's connection, <see cref="ConnectionInfo.ClientCertificate"/>.
/// </summary>
internal sealed class TokenBindingHandler : AuthorizationHandler<TokenBindingRequirement>
{
    /// <summary>The failure reason when no validated token is in the principal: answered 401 by <see cref="MissingTokenChallenge"/>.</summary>
    public const string NoValidToken = "no valid bearer token";

    private const int Sha256Length = 32;
    private const int Sha256Base64UrlLength = 43;

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, TokenBindingRequirement requirement)
    {
        string? confirmation = context.User.FindFirst("cnf")?.Value;
        if (confirmation is null)
        {
            context.Fail(new AuthorizationFailureReason(this, NoValidToken));
            return Task.CompletedTask;
        }

        if (context.Resource is not HttpContext http || http.Connection.ClientCertificate is not X509Certificate2 certificate || !IsBoundTo(confirmation, certificate))
        {
            context.Fail(new AuthorizationFailureReason(this, "the token is not bound to the connection's client certificate"));
            return Task.CompletedTask;
        }

        context.Succeed(requirement);
        return Task.CompletedTask;
    }

    private static bool IsBoundTo(string confirmation, X509Certificate2 certificate)
    {
        Span<byte> hash = stackalloc byte[Sha256Length];
        Span<char> thumbprint = stackalloc char[Sha256Base64UrlLength];
        if (!certificate.TryGetCertHash(HashAlgorithmName.SHA256, hash, out _)
            || Base64Url.EncodeToChars(hash, thumbprint) != Sha256Base64UrlLength)
        {
            return false;
        }

        try
        {
            using var json = JsonDocument.Parse(confirmation);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("x5t#S256", out JsonElement x5t)
                && x5t.ValueKind == JsonValueKind.String
                && x5t.ValueEquals(thumbprint);
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>
/// The policy authenticates both schemes, so a request with a valid client certificate and no (valid) token is
/// authenticated and the framework would answer 403; without a token the answer is a Bearer challenge, 401 (RFC 6750
/// §3.1). Only failed requests reach this decision.
/// </summary>
internal sealed class MissingTokenChallenge : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden && authorizeResult.AuthorizationFailure is { } failure)
        {
            foreach (AuthorizationFailureReason reason in failure.FailureReasons)
            {
                if (reason.Message == TokenBindingHandler.NoValidToken)
                {
                    return context.ChallengeAsync(JwtBearerDefaults.AuthenticationScheme);
                }
            }
        }

        return _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
