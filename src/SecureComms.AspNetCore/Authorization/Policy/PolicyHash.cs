using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace SecureComms;

/// <summary>
/// The SHA-256 of a central policy's decisive content, written canonically: dry run and the rules in configuration
/// order (the order decides which rule is named), each with its action, name, callers, methods, paths and scopes as
/// written, its claims and user claims sorted by type, and whether it requires a user. Comments, key order, layout and
/// <see cref="SecureCommsAuthorizationOptions.Version"/> do not change it; any edit that can change a decision or
/// its report does.
/// </summary>
internal static class PolicyHash
{
    public static string Of(SecureCommsAuthorizationOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteBoolean("dryRun", options.DryRun);
            json.WriteStartArray("rules");
            foreach (CallerRuleOptions rule in options.Rules)
            {
                json.WriteStartObject();
                json.WriteString("action", rule.Action.ToString());
                json.WriteString("name", rule.Name);
                WriteList(json, "callers", rule.Callers);
                WriteList(json, "methods", rule.Methods);
                WriteList(json, "paths", rule.Paths);
                WriteList(json, "scopes", rule.Scopes);
                WriteClaims(json, "claims", rule.Claims);
                json.WriteBoolean("requireUser", rule.RequireUser);
                WriteClaims(json, "userClaims", rule.UserClaims);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    private static void WriteList(Utf8JsonWriter json, string name, IList<string> values)
    {
        json.WriteStartArray(name);
        foreach (string value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static void WriteClaims(Utf8JsonWriter json, string name, IDictionary<string, string> claims)
    {
        json.WriteStartArray(name);
        foreach ((string type, string value) in claims.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            json.WriteStartArray();
            json.WriteStringValue(type);
            json.WriteStringValue(value);
            json.WriteEndArray();
        }

        json.WriteEndArray();
    }
}
