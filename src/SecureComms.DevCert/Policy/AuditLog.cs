using System.Text.Json;
using System.Text.RegularExpressions;

namespace SecureComms.DevCert;

/// <summary>
/// One authorization decision a service logged: 1413 (dry run, the concrete path; served although the policy would
/// deny it), 1401 (allowed, the route template; with <c>LogAllowedRequests</c>) or 1400 (denied, the route template).
/// </summary>
internal sealed record AuditEvent(
    int EventId,
    string Caller,
    string Method,
    string Target,
    string Reason,
    string Rule,
    string? User,
    IReadOnlyList<string>? Scopes)
{
    /// <summary>1413 dry-run decision.</summary>
    public const int DryRunDecision = 1413;

    /// <summary>1401 allowed request.</summary>
    public const int Allowed = 1401;

    /// <summary>1400 denied request.</summary>
    public const int Denied = 1400;

    /// <summary>Whether <see cref="Target"/> is a route template (1400, 1401) rather than a concrete path (1413).</summary>
    public bool TargetIsRoute => EventId != DryRunDecision;

    /// <summary>Whether the call was served: allowed, or only logged in dry run.</summary>
    public bool Served => EventId != Denied;

    /// <summary>Whether the policy allowed it (a dry-run event is logged for what it would deny).</summary>
    public bool PolicyAllowed => EventId == Allowed;
}

/// <summary>
/// Reads the decision events of service logs in either console format: JSON lines (<c>AddJsonConsole</c>: an
/// <c>EventId</c> and the message's <c>State</c>) and the default text format, whose message line is matched against
/// the events' message templates (so that a <c>info: Category[1401]</c> header line followed by the message line, the
/// single-line form and prefixes such as journald's are all read).
/// </summary>
internal static partial class AuditLog
{
    /// <summary>Reads every file; unreadable files are added to <paramref name="problems"/>.</summary>
    public static List<AuditEvent> Read(IEnumerable<string> files, List<string> problems, out int unreadableLines)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(problems);
        var events = new List<AuditEvent>();
        unreadableLines = 0;
        foreach (string file in files)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problems.Add($"cannot read '{file}': {ex.Message}");
                continue;
            }

            foreach (string line in lines)
            {
                if (Parse(line) is { } parsed)
                {
                    events.Add(parsed);
                }
                else if (line.Contains("SecureComms dry run: ", StringComparison.Ordinal) || line.Contains("SecureComms allowed ", StringComparison.Ordinal) || line.Contains("SecureComms denied ", StringComparison.Ordinal))
                {
                    unreadableLines++;
                }
            }
        }

        return events;
    }

    /// <summary>The decision event of one log line, or null for any other line.</summary>
    public static AuditEvent? Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        string trimmed = line.Trim();
        if (trimmed.StartsWith('{'))
        {
            return ParseJson(trimmed);
        }

        Match match = DryRunMessage().Match(trimmed);
        if (match.Success)
        {
            return new AuditEvent(AuditEvent.DryRunDecision, match.Groups["caller"].Value, match.Groups["method"].Value, match.Groups["path"].Value, match.Groups["reason"].Value, match.Groups["rule"].Value, null, null);
        }

        match = DecisionMessage().Match(trimmed);
        return match.Success
            ? new AuditEvent(
                match.Groups["verdict"].Value == "allowed" ? AuditEvent.Allowed : AuditEvent.Denied,
                match.Groups["caller"].Value,
                match.Groups["method"].Value,
                match.Groups["route"].Value,
                match.Groups["reason"].Value,
                match.Groups["rule"].Value,
                match.Groups["user"].Value,
                null)
            : null;
    }

    private static AuditEvent? ParseJson(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("EventId", out JsonElement idElement))
            {
                return null;
            }

            int eventId = idElement.ValueKind switch
            {
                JsonValueKind.Number when idElement.TryGetInt32(out int id) => id,
                JsonValueKind.Object when idElement.TryGetProperty("Id", out JsonElement inner) && inner.TryGetInt32(out int id) => id,
                _ => 0,
            };
            if (eventId is not (AuditEvent.DryRunDecision or AuditEvent.Allowed or AuditEvent.Denied))
            {
                return null;
            }

            if (!root.TryGetProperty("State", out JsonElement state) || state.ValueKind != JsonValueKind.Object)
            {
                // No state: the message text is all there is.
                return root.TryGetProperty("Message", out JsonElement message) && message.ValueKind == JsonValueKind.String
                    ? Parse(message.GetString()!)
                    : null;
            }

            string? caller = Text(state, "Caller");
            string? method = Text(state, "Method");
            string? target = Text(state, eventId == AuditEvent.DryRunDecision ? "Path" : "Route");
            if (caller is null || method is null || target is null)
            {
                return null;
            }

            // The decision events carry no scopes today; a service that adds them (Scopes or Scope) is read.
            string? scopeText = Text(state, "Scopes") ?? Text(state, "Scope");
            IReadOnlyList<string>? scopes = scopeText?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return new AuditEvent(eventId, caller, method, target, Text(state, "Reason") ?? string.Empty, Text(state, "Rule") ?? "(none)", Text(state, "User"), scopes);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement state, string name) =>
        state.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // PolicyLog.DryRunDecision (1413).
    [GeneratedRegex(@"SecureComms dry run: (?<caller>\S+) (?<method>\S+) (?<path>\S+) would be (?<verdict>\w+) \((?<reason>[^,]+), rule (?<rule>.*?)\); allowed because the policy is in dry-run mode", RegexOptions.CultureInvariant)]
    private static partial Regex DryRunMessage();

    // AuthorizationLog.RequestDenied (1400) and RequestAllowed (1401).
    [GeneratedRegex(@"SecureComms (?<verdict>denied|allowed) (?<caller>\S+) \(user (?<user>.*?)\) (?<method>\S+) (?<route>.+?): (?<reason>\w+), rule (?<rule>.+?)(?: \(\d{3}\))?$", RegexOptions.CultureInvariant)]
    private static partial Regex DecisionMessage();
}
