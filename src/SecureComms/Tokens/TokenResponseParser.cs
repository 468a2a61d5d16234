using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;

namespace SecureComms;

/// <summary>Reads token endpoint responses (RFC 6749 §5.1 success, §5.2 error) strictly; nothing unverifiable is cached.</summary>
internal static class TokenResponseParser
{
    internal static AccessToken ParseSuccess(ReadOnlySpan<byte> json, Uri endpoint, WorkloadCertificate certificate, DateTimeOffset now, TimeSpan maxLifetime, bool requireBound = true)
    {
        string accessToken;
        string tokenType;
        long expiresIn;
        string? scope = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json.ToArray());
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(endpoint, "the response is not a JSON object.");
            }

            accessToken = root.TryGetProperty("access_token", out JsonElement at) && at.ValueKind == JsonValueKind.String && at.GetString() is { Length: > 0 } value
                ? value
                : throw Invalid(endpoint, "the response has no access_token.");
            tokenType = root.TryGetProperty("token_type", out JsonElement tt) && tt.ValueKind == JsonValueKind.String ? tt.GetString()! : throw Invalid(endpoint, "the response has no token_type.");
            if (!string.Equals(tokenType, "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                // RFC 8705 §3: certificate-bound tokens are still Bearer tokens on the wire.
                throw Invalid(endpoint, $"token_type '{tokenType}' is not supported; expected Bearer.");
            }

            if (!root.TryGetProperty("expires_in", out JsonElement ei))
            {
                throw Invalid(endpoint, "the response has no expires_in, so the token's lifetime is unknown.");
            }

            expiresIn = ei.ValueKind switch
            {
                JsonValueKind.Number when ei.TryGetInt64(out long n) => n,
                JsonValueKind.String when long.TryParse(ei.GetString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n) => n,
                _ => throw Invalid(endpoint, "expires_in is not a whole number of seconds."),
            };
            if (root.TryGetProperty("scope", out JsonElement sc) && sc.ValueKind == JsonValueKind.String)
            {
                scope = sc.GetString();
            }
        }
        catch (JsonException)
        {
            throw Invalid(endpoint, "the response is not valid JSON.");
        }

        if (expiresIn <= 0)
        {
            throw Invalid(endpoint, $"expires_in {expiresIn} is not positive.");
        }

        if (expiresIn > maxLifetime.TotalSeconds)
        {
            throw Invalid(endpoint, $"expires_in {expiresIn} s is longer than the accepted maximum of {maxLifetime.TotalSeconds:0} s.");
        }

        CheckBinding(accessToken, certificate, endpoint, requireBound);
        return new AccessToken(accessToken, "Bearer", now, now.AddSeconds(expiresIn), scope, certificate);
    }

    internal static TokenAcquisitionException ParseError(ReadOnlySpan<byte> json, int statusCode, Uri endpoint)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json.ToArray());
            JsonElement root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.String)
            {
                string? description = root.TryGetProperty("error_description", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                return new TokenAcquisitionException(error.GetString()!, description, endpoint);
            }
        }
        catch (JsonException)
        {
        }

        return new TokenAcquisitionException("invalid_response", $"HTTP {statusCode} without an OAuth error body.", endpoint);
    }

    /// <summary>
    /// When the token is a JWT carrying <c>cnf.x5t#S256</c>, it must name our certificate (RFC 8705 §3.1): a token bound to
    /// another certificate would be refused by every receiver, so refusing it here gives the clearer error.
    /// </summary>
    private static void CheckBinding(string accessToken, WorkloadCertificate certificate, Uri endpoint, bool requireBound)
    {
        var handler = new JsonWebTokenHandler();
        if (!handler.CanReadToken(accessToken))
        {
            return; // opaque token: the receiver checks the binding by introspection
        }

        JsonWebToken jwt;
        try
        {
            jwt = handler.ReadJsonWebToken(accessToken);
        }
        catch (ArgumentException)
        {
            return;
        }

        if (!jwt.TryGetClaim("cnf", out System.Security.Claims.Claim? cnf))
        {
            if (requireBound)
            {
                throw Invalid(endpoint, "the access token is not bound to the client certificate (no cnf claim); register the client with tls_client_certificate_bound_access_tokens.");
            }

            return;
        }

        if (!CertificateBinding.TryReadThumbprint(cnf.Value, out string? bound))
        {
            throw Invalid(endpoint, "the token's cnf claim is malformed.");
        }

        if (bound is null && requireBound)
        {
            throw Invalid(endpoint, "the access token's cnf claim has no x5t#S256 certificate thumbprint.");
        }

        if (bound is not null && !string.Equals(bound, certificate.Sha256Thumbprint, StringComparison.Ordinal))
        {
            throw Invalid(endpoint, "the token is bound to a different certificate than the one this client presented.");
        }
    }

    private static TokenAcquisitionException Invalid(Uri endpoint, string description) => new("invalid_response", description, endpoint);
}
