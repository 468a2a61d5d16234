using System.Text.Json;

namespace SecureComms;

/// <summary>
/// The parts of authorization server metadata (RFC 8414 §2, OpenID Discovery) SecureComms uses: the token endpoint,
/// preferring the mutual-TLS alias (RFC 8705 §5), after checking that the metadata names the issuer asked for.
/// </summary>
internal static class AuthorizationServerMetadata
{
    internal static readonly string[] WellKnownPaths = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"];

    internal static Uri MetadataAddress(Uri authority, string wellKnown)
    {
        // RFC 8414 §3.1: the well-known segment goes between the host and any issuer path.
        string path = authority.AbsolutePath.TrimEnd('/');
        return wellKnown == WellKnownPaths[0]
            ? new Uri(authority, wellKnown + path)
            : new Uri(authority, path + wellKnown);
    }

    internal static Uri ParseTokenEndpoint(ReadOnlySpan<byte> json, Uri authority)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json.ToArray());
            JsonElement root = document.RootElement;
            string? issuer = root.TryGetProperty("issuer", out JsonElement i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
            if (!string.Equals(issuer?.TrimEnd('/'), authority.ToString().TrimEnd('/'), StringComparison.Ordinal))
            {
                // RFC 8414 §3.3: metadata whose issuer differs from the one asked for must not be used.
                throw Failed(authority, $"the metadata names issuer '{issuer}', not '{authority}'.");
            }

            string? endpoint = null;
            if (root.TryGetProperty("mtls_endpoint_aliases", out JsonElement aliases) && aliases.ValueKind == JsonValueKind.Object
                && aliases.TryGetProperty("token_endpoint", out JsonElement alias) && alias.ValueKind == JsonValueKind.String)
            {
                endpoint = alias.GetString();
            }

            if (endpoint is null && root.TryGetProperty("token_endpoint", out JsonElement te) && te.ValueKind == JsonValueKind.String)
            {
                endpoint = te.GetString();
            }

            if (endpoint is null || !Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri) || uri.Scheme != Uri.UriSchemeHttps)
            {
                throw Failed(authority, "the metadata has no https token_endpoint.");
            }

            return uri;
        }
        catch (JsonException)
        {
            throw Failed(authority, "the metadata is not valid JSON.");
        }
    }

    private static TokenAcquisitionException Failed(Uri authority, string description) => new("discovery_failed", description, authority);
}
