using System.Text.Json;

namespace SecureComms.DevCert;

/// <summary>One row of a policy test table: a request and the decision expected of it.</summary>
internal sealed record PolicyTestCase(string Name, PolicyQuery Query, bool ExpectAllowed, bool ExpectsRule, string? Rule, string? Reason);

/// <summary>
/// A table of policy unit tests, kept next to a service and run in its CI:
/// <code>
/// { "cases": [ { "name": "orders reads invoices", "caller": "spiffe://example.org/orders", "method": "GET",
///   "path": "/invoices/42", "scopes": [ "invoices.read" ], "claims": { "tenant": "acme" }, "user": "alice",
///   "userClaims": { "role": "clerk" }, "expect": "allow", "rule": "orders-reads-invoices", "reason": "AllowedByRule" } ] }
/// </code>
/// <c>name</c>, <c>caller</c>, <c>path</c> and <c>expect</c> (<c>allow</c> or <c>deny</c>) are required; <c>method</c>
/// is GET when left out; a claim's value may be an array (a JSON array in the token); <c>rule</c> (a name, or
/// <see langword="null"/> for "no rule decided") and <c>reason</c> are checked when present. Unknown properties are
/// errors, so that a misspelt expectation is not silently skipped.
/// </summary>
internal static class PolicyTestTable
{
    private static readonly HashSet<string> CaseProperties = new(StringComparer.Ordinal)
    {
        "name", "caller", "method", "path", "scopes", "claims", "user", "userClaims", "expect", "rule", "reason",
    };

    /// <summary>Reads the table at <paramref name="path"/>; on failure returns <see langword="null"/> with every problem.</summary>
    public static List<PolicyTestCase>? TryRead(string path, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        JsonDocument document;
        try
        {
            using FileStream stream = File.OpenRead(path);
            document = JsonDocument.Parse(stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            problems.Add($"cannot read '{path}': {ex.Message}");
            return null;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("cases", out JsonElement cases)
                || cases.ValueKind != JsonValueKind.Array)
            {
                problems.Add($"'{path}' is not a table: expected {{ \"cases\": [ ... ] }}.");
                return null;
            }

            var table = new List<PolicyTestCase>();
            int index = 0;
            foreach (JsonElement row in cases.EnumerateArray())
            {
                if (ReadCase(row, $"cases[{index}]", problems) is { } testCase)
                {
                    table.Add(testCase);
                }

                index++;
            }

            if (index == 0)
            {
                problems.Add($"'{path}' has no cases.");
            }

            return problems.Count == 0 ? table : null;
        }
    }

    private static PolicyTestCase? ReadCase(JsonElement row, string at, List<string> problems)
    {
        if (row.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{at} is not an object.");
            return null;
        }

        int before = problems.Count;
        foreach (JsonProperty property in row.EnumerateObject())
        {
            if (!CaseProperties.Contains(property.Name))
            {
                problems.Add($"{at}.{property.Name} is not a case property (name, caller, method, path, scopes, claims, user, userClaims, expect, rule, reason).");
            }
        }

        string? name = Text(row, "name", at, problems, required: true);
        string at2 = name is null ? at : $"{at} '{name}'";
        string? callerText = Text(row, "caller", at2, problems, required: true);
        string method = Text(row, "method", at2, problems, required: false) ?? "GET";
        string? path = Text(row, "path", at2, problems, required: true);
        string? expect = Text(row, "expect", at2, problems, required: true);
        string? user = Text(row, "user", at2, problems, required: false);
        string? reason = Text(row, "reason", at2, problems, required: false);
        bool expectsRule = row.TryGetProperty("rule", out JsonElement ruleElement);
        string? rule = expectsRule && ruleElement.ValueKind != JsonValueKind.Null ? Text(row, "rule", at2, problems, required: false) : null;
        List<string> scopes = Strings(row, "scopes", at2, problems);
        List<KeyValuePair<string, string>> claims = Pairs(row, "claims", at2, problems);
        List<KeyValuePair<string, string>> userClaims = Pairs(row, "userClaims", at2, problems);

        SpiffeId caller = default;
        if (callerText is not null && !PolicyQueryOptions.TryParseCaller(callerText, out caller, out string? callerError))
        {
            problems.Add($"{at2}.caller {callerError}");
        }

        if (path is not null && (path.Length == 0 || path[0] != '/'))
        {
            problems.Add($"{at2}.path '{path}' must start with '/'.");
        }

        if (expect is not null and not ("allow" or "deny"))
        {
            problems.Add($"{at2}.expect '{expect}' is not allow or deny.");
        }

        return problems.Count == before
            ? new PolicyTestCase(name!, new PolicyQuery(caller, method, path!, scopes, claims, user, userClaims), expect == "allow", expectsRule, rule, reason)
            : null;
    }

    private static string? Text(JsonElement row, string property, string at, List<string> problems, bool required)
    {
        if (!row.TryGetProperty(property, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                problems.Add($"{at}.{property} is missing.");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String || value.GetString()!.Length == 0)
        {
            problems.Add($"{at}.{property} must be a non-empty string.");
            return null;
        }

        return value.GetString();
    }

    private static List<string> Strings(JsonElement row, string property, string at, List<string> problems)
    {
        var values = new List<string>();
        if (!row.TryGetProperty(property, out JsonElement array) || array.ValueKind == JsonValueKind.Null)
        {
            return values;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"{at}.{property} must be an array of strings.");
            return values;
        }

        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                problems.Add($"{at}.{property} must be an array of strings.");
                return values;
            }

            values.Add(item.GetString()!);
        }

        return values;
    }

    private static List<KeyValuePair<string, string>> Pairs(JsonElement row, string property, string at, List<string> problems)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (!row.TryGetProperty(property, out JsonElement map) || map.ValueKind == JsonValueKind.Null)
        {
            return pairs;
        }

        if (map.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{at}.{property} must be an object of claim type to value (or array of values).");
            return pairs;
        }

        foreach (JsonProperty claim in map.EnumerateObject())
        {
            if (claim.Value.ValueKind == JsonValueKind.String)
            {
                pairs.Add(new KeyValuePair<string, string>(claim.Name, claim.Value.GetString()!));
            }
            else if (claim.Value.ValueKind == JsonValueKind.Array && claim.Value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String))
            {
                foreach (JsonElement value in claim.Value.EnumerateArray())
                {
                    pairs.Add(new KeyValuePair<string, string>(claim.Name, value.GetString()!));
                }
            }
            else
            {
                problems.Add($"{at}.{property}.{claim.Name} must be a string or an array of strings.");
            }
        }

        return pairs;
    }
}
