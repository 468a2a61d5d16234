using System.Text.Json;

namespace SecureComms.DevCert;

/// <summary>
/// Why a central policy decides a request as it does: the decision of <see cref="CentralPolicy.Evaluate"/> itself (the
/// service's compiled code and path canonicalisation), the rule that decided, the audit rules, and when no rule decided
/// a denial, the nearest <see cref="PolicyAction.Allow"/> rules with what the request does not meet of each
/// (<see cref="CentralPolicy.Diagnose"/>, built from the same matchers).
/// </summary>
internal sealed class PolicyExplanation
{
    /// <summary>How many candidate rules an explanation lists by default.</summary>
    public const int DefaultCandidates = 3;

    private PolicyExplanation(PolicyQuery query, PolicyDecision decision, string? canonicalPath, RuleDiagnosis? decidingRule, IReadOnlyList<RuleDiagnosis> candidates, IReadOnlyList<RuleDiagnosis> overriddenAllows)
    {
        OverriddenAllows = overriddenAllows;
        Query = query;
        Decision = decision;
        CanonicalPath = canonicalPath;
        DecidingRule = decidingRule;
        Candidates = candidates;
    }

    /// <summary>The request explained.</summary>
    public PolicyQuery Query { get; }

    /// <summary>The decision, as the service makes it.</summary>
    public PolicyDecision Decision { get; }

    /// <summary>The path the rules are matched against, or <see langword="null"/> when the service refuses the path.</summary>
    public string? CanonicalPath { get; }

    /// <summary>The rule named by the decision (an <see cref="PolicyDecision.InsufficientScope"/> one lists the missing scopes).</summary>
    public RuleDiagnosis? DecidingRule { get; }

    /// <summary>
    /// For a denial no rule decided (<see cref="PolicyDecision.NoMatchingRule"/>): the Allow rules that come nearest,
    /// most matching dimensions first, then in configuration order.
    /// </summary>
    public IReadOnlyList<RuleDiagnosis> Candidates { get; }

    /// <summary>For a denial by a Deny rule: the Allow rules that matched too (a Deny wins over any Allow).</summary>
    public IReadOnlyList<RuleDiagnosis> OverriddenAllows { get; }

    /// <summary>Whether the service allows the request or refuses it.</summary>
    public bool Allowed => Decision.Allowed;

    /// <summary>Explains <paramref name="query"/> against <paramref name="policy"/>.</summary>
    public static PolicyExplanation Explain(CentralPolicy policy, PolicyQuery query, int maxCandidates = DefaultCandidates)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(query);
        PolicyRequest request = query.ToRequest();
        PolicyDecision decision = policy.Evaluate(request);
        string? canonical = PathCanonicalizer.TryCanonicalize(request.Path, out string path) ? path : null;
        List<RuleDiagnosis> diagnoses = policy.Diagnose(request);
        RuleDiagnosis? deciding = decision.Rule is { } name ? diagnoses.Find(d => d.Rule.Name == name && Decides(d, decision)) : null;
        var candidates = new List<RuleDiagnosis>();
        if (!decision.Allowed && decision.Reason == PolicyDecision.NoMatchingRule)
        {
            candidates.AddRange(diagnoses.Where(d => d.Rule.Action == PolicyAction.Allow)
                .OrderByDescending(d => d.MatchedDimensions)
                .ThenBy(d => d.Rule.Index)
                .Take(maxCandidates));
        }

        List<RuleDiagnosis> overridden = decision.Reason == PolicyDecision.DeniedByRule
            ? diagnoses.FindAll(d => d.Rule.Action == PolicyAction.Allow && d.Misses.Count == 0)
            : [];
        return new PolicyExplanation(query, decision, canonical, deciding, candidates, overridden);
    }

    // Rule names need not be unique: the deciding rule is the one whose diagnosis agrees with the decision.
    private static bool Decides(RuleDiagnosis diagnosis, PolicyDecision decision) =>
        decision.Reason == PolicyDecision.InsufficientScope
            ? diagnosis.Rule.Action == PolicyAction.Allow && diagnosis.Misses.Count > 0 && diagnosis.Misses.All(m => m.Dimension == RuleDimension.Scopes)
            : diagnosis.Misses.Count == 0 && diagnosis.Rule.Action == (decision.Allowed ? PolicyAction.Allow : PolicyAction.Deny);

    /// <summary>The decision in one word: <c>allowed</c> or <c>denied</c>.</summary>
    public string Verdict => Decision.Allowed ? "allowed" : "denied";

    /// <summary>Writes the explanation for people.</summary>
    public void WriteText(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine($"decision: {Verdict} ({Decision.Reason})");
        output.WriteLine($"request:  {Query}");
        if (CanonicalPath is null)
        {
            output.WriteLine($"path:     {Query.Path} is not canonical (an encoded slash or backslash, a backslash, a NUL or a dot segment): refused before any rule is looked at");
        }
        else if (!string.Equals(CanonicalPath, Query.Path, StringComparison.Ordinal))
        {
            output.WriteLine($"path:     matched as {CanonicalPath}");
        }

        if (DecidingRule is { } deciding)
        {
            output.WriteLine($"rule:     {Describe(deciding.Rule)}");
            if (Decision.Reason == PolicyDecision.InsufficientScope)
            {
                output.WriteLine($"          would allow with the scopes {Decision.MissingScopes}:");
                WriteMisses(output, deciding, "          ");
            }
        }
        else if (Decision.Reason == PolicyDecision.NoMatchingRule)
        {
            output.WriteLine("rule:     none matched (default deny)");
        }

        if (OverriddenAllows.Count > 0)
        {
            output.WriteLine($"          wins over the Allow rule(s) that match too: {string.Join(", ", OverriddenAllows.Select(d => d.Rule.Name))}");
        }

        if (Decision.AuditRules.Count > 0)
        {
            output.WriteLine($"audit:    {string.Join(", ", Decision.AuditRules)}");
        }

        if (Decision.DryRun)
        {
            output.WriteLine($"dry run:  the policy is in dry-run mode (SecureComms:Authorization:DryRun): the service logs this decision and lets the request through");
        }

        if (Candidates.Count > 0)
        {
            output.WriteLine("nearest rules:");
            for (int i = 0; i < Candidates.Count; i++)
            {
                RuleDiagnosis candidate = Candidates[i];
                output.WriteLine($"  {i + 1}. {Describe(candidate.Rule)}, {candidate.MatchedDimensions} of 6 match");
                WriteMisses(output, candidate, "     ");
            }
        }
    }

    /// <summary>Writes the explanation as one JSON object.</summary>
    public void WriteJson(Utf8JsonWriter json)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        json.WriteString("caller", Query.Caller.ToString());
        json.WriteString("method", Query.Method);
        json.WriteString("path", Query.Path);
        json.WriteString("canonicalPath", CanonicalPath);
        json.WriteBoolean("allowed", Decision.Allowed);
        json.WriteString("decision", Verdict);
        json.WriteString("reason", Decision.Reason);
        json.WriteString("rule", Decision.Rule);
        if (DecidingRule is { } deciding)
        {
            json.WriteNumber("ruleIndex", deciding.Rule.Index);
        }

        json.WriteString("missingScopes", Decision.MissingScopes);
        json.WriteBoolean("dryRun", Decision.DryRun);
        json.WriteBoolean("enforced", !Decision.DryRun);
        json.WriteStartArray("auditRules");
        foreach (string audit in Decision.AuditRules)
        {
            json.WriteStringValue(audit);
        }

        json.WriteEndArray();
        json.WriteStartArray("overriddenAllowRules");
        foreach (RuleDiagnosis overridden in OverriddenAllows)
        {
            json.WriteStringValue(overridden.Rule.Name);
        }

        json.WriteEndArray();
        json.WriteStartArray("candidates");
        foreach (RuleDiagnosis candidate in Candidates)
        {
            json.WriteStartObject();
            json.WriteString("rule", candidate.Rule.Name);
            json.WriteNumber("ruleIndex", candidate.Rule.Index);
            json.WriteNumber("matchedDimensions", candidate.MatchedDimensions);
            json.WriteStartArray("misses");
            foreach (RuleMiss miss in candidate.Misses)
            {
                json.WriteStartObject();
                json.WriteString("dimension", JsonNamingPolicy.CamelCase.ConvertName(miss.Dimension.ToString()));
                json.WriteString("detail", miss.Detail);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string Describe(CompiledRule rule) => $"{rule.Name} (SecureComms:Authorization:Rules:{rule.Index}, {rule.Action})";

    private static void WriteMisses(TextWriter output, RuleDiagnosis diagnosis, string indent)
    {
        foreach (RuleMiss miss in diagnosis.Misses)
        {
            output.WriteLine($"{indent}- {miss.Detail}");
        }
    }
}
