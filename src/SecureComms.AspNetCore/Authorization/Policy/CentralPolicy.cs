using System.Collections.Frozen;
using System.Security.Claims;

namespace SecureComms;

/// <summary>
/// The compiled central policy (least privilege, default deny). Rules are indexed by caller so evaluation looks at
/// only the rules that can match: exact SPIFFE IDs by dictionary, ID prefixes by walking the caller's own path
/// prefixes, trust-domain-wide rules by trust domain, and <c>*</c> rules. Among the matching rules a
/// <see cref="PolicyAction.Deny"/> wins over any <see cref="PolicyAction.Allow"/>; <see cref="PolicyAction.Audit"/>
/// rules never decide; nothing matched means deny. Paths are canonicalised first and ambiguous ones are refused. When no
/// rule allows but an Allow rule matched the caller, method, path, claims and user and only the token's scopes fell short,
/// the denial is <see cref="PolicyDecision.InsufficientScope"/> naming that rule's scopes (RFC 6750 §3.1), so that the
/// caller learns which scopes to ask for; of several such rules, the one listed first in configuration.
/// </summary>
internal sealed partial class CentralPolicy
{
    private readonly FrozenDictionary<string, CompiledRule[]> _byExactId;
    private readonly FrozenDictionary<string, CompiledRule[]> _byPrefix;
    private readonly FrozenDictionary<string, CompiledRule[]> _byTrustDomain;
    private readonly CompiledRule[] _forAnyCaller;
    private readonly CompiledRule[] _rules;

    private CentralPolicy(
        FrozenDictionary<string, CompiledRule[]> byExactId,
        FrozenDictionary<string, CompiledRule[]> byPrefix,
        FrozenDictionary<string, CompiledRule[]> byTrustDomain,
        CompiledRule[] forAnyCaller,
        CompiledRule[] rules,
        bool dryRun,
        bool logAllowedRequests,
        int ruleCount,
        string? version,
        string sha256,
        DateTimeOffset loadedAt)
    {
        Version = version;
        Sha256 = sha256;
        LoadedAt = loadedAt;
        _byExactId = byExactId;
        _byPrefix = byPrefix;
        _byTrustDomain = byTrustDomain;
        _forAnyCaller = forAnyCaller;
        _rules = rules;
        DryRun = dryRun;
        LogAllowedRequests = logAllowedRequests;
        RuleCount = ruleCount;
    }

    public bool DryRun { get; }

    /// <summary><see cref="SecureCommsAuthorizationOptions.LogAllowedRequests"/> of the same (last good) configuration.</summary>
    public bool LogAllowedRequests { get; }

    public int RuleCount { get; }

    /// <summary><see cref="SecureCommsAuthorizationOptions.Version"/>: the operator's label, if any.</summary>
    public string? Version { get; }

    /// <summary>
    /// The SHA-256 (lower-case hex) of what decides requests — the rules in order and dry run — written canonically, so
    /// the same policy has the same hash on every replica whatever the file's layout, comments or key order.
    /// </summary>
    public string Sha256 { get; }

    /// <summary>When this policy was compiled: at start-up, or when a change to it was applied.</summary>
    public DateTimeOffset LoadedAt { get; }

    public PolicyDecision Evaluate(in PolicyRequest request)
    {
        if (request.Caller.IsEmpty)
        {
            return PolicyDecision.Create(false, PolicyDecision.NoCallerIdentity, null, null, DryRun);
        }

        if (!PathCanonicalizer.TryCanonicalize(request.Path, out string path))
        {
            return PolicyDecision.Create(false, PolicyDecision.NonCanonicalPath, null, null, DryRun);
        }

        var state = new EvaluationState();
        string id = request.Caller.ToString();
        if (_byExactId.TryGetValue(id, out CompiledRule[]? exact))
        {
            Visit(exact, request, path, ref state);
        }

        if (_byPrefix.Count > 0)
        {
            // spiffe://td/a/b/c is below the prefixes spiffe://td/a/b/c, spiffe://td/a/b and spiffe://td/a.
            ReadOnlySpan<char> candidate = id;
            int root = "spiffe://".Length + request.Caller.TrustDomain.Name.Length;
            FrozenDictionary<string, CompiledRule[]>.AlternateLookup<ReadOnlySpan<char>> lookup = _byPrefix.GetAlternateLookup<ReadOnlySpan<char>>();
            while (candidate.Length > root)
            {
                if (lookup.TryGetValue(candidate, out CompiledRule[]? prefixed))
                {
                    Visit(prefixed, request, path, ref state);
                }

                candidate = candidate[..candidate.LastIndexOf('/')];
            }
        }

        if (_byTrustDomain.TryGetValue(request.Caller.TrustDomain.Name, out CompiledRule[]? domainWide))
        {
            Visit(domainWide, request, path, ref state);
        }

        Visit(_forAnyCaller, request, path, ref state);

        if (state.Deny is not null)
        {
            return PolicyDecision.Create(false, PolicyDecision.DeniedByRule, state.Deny, state.Audits, DryRun);
        }

        if (state.Allow is not null)
        {
            return PolicyDecision.Create(true, PolicyDecision.AllowedByRule, state.Allow, state.Audits, DryRun);
        }

        return state.AllowButForScopes is { } scoped
            ? PolicyDecision.InsufficientScopes(scoped.Name, scoped.ScopeText, state.Audits, DryRun)
            : PolicyDecision.Create(false, PolicyDecision.NoMatchingRule, null, state.Audits, DryRun);
    }

    private static void Visit(CompiledRule[] rules, in PolicyRequest request, string path, ref EvaluationState state)
    {
        foreach (CompiledRule rule in rules)
        {
            RuleMatch match = rule.Match(request, path);
            if (match == RuleMatch.ScopesMissing)
            {
                // Only an Allow rule can tell the caller which scopes would have let it in; the first listed wins.
                if (rule.Action == PolicyAction.Allow && (state.AllowButForScopes is null || rule.Index < state.AllowButForScopes.Index))
                {
                    state.AllowButForScopes = rule;
                }

                continue;
            }

            if (match != RuleMatch.Matched)
            {
                continue;
            }

            switch (rule.Action)
            {
                case PolicyAction.Deny:
                    state.Deny ??= rule.Name;
                    break;
                case PolicyAction.Allow:
                    state.Allow ??= rule.Name;
                    break;
                default:
                    (state.Audits ??= []).Add(rule.Name);
                    break;
            }
        }
    }

    /// <summary>Compiles the options; every problem is added to <paramref name="errors"/> with its configuration key.</summary>
    public static CentralPolicy Compile(SecureCommsAuthorizationOptions options, List<string>? errors) => Compile(options, errors, default);

    /// <summary>Compiles the options, stamped as loaded at <paramref name="loadedAt"/>.</summary>
    public static CentralPolicy Compile(SecureCommsAuthorizationOptions options, List<string>? errors, DateTimeOffset loadedAt)
    {
        var exact = new Dictionary<string, List<CompiledRule>>(StringComparer.Ordinal);
        var prefix = new Dictionary<string, List<CompiledRule>>(StringComparer.Ordinal);
        var domain = new Dictionary<string, List<CompiledRule>>(StringComparer.Ordinal);
        var any = new List<CompiledRule>();
        var all = new List<CompiledRule>(options.Rules.Count);
        for (int i = 0; i < options.Rules.Count; i++)
        {
            CallerRuleOptions rule = options.Rules[i];
            string key = $"{SecureCommsOptions.SectionName}:Authorization:Rules:{i}";
            CompiledRule? compiled = CompiledRule.TryCreate(rule, key, i, errors);
            if (compiled is not null)
            {
                all.Add(compiled);
            }

            for (int c = 0; c < rule.Callers.Count; c++)
            {
                string pattern = rule.Callers[c];
                if (pattern == "*")
                {
                    if (compiled is not null)
                    {
                        any.Add(compiled);
                    }

                    continue;
                }

                bool isPrefix = pattern.EndsWith("/*", StringComparison.Ordinal);
                string idText = isPrefix ? pattern[..^2] : pattern;
                if (!SpiffeId.TryParse(idText, out SpiffeId id, out string? error) || pattern.Contains('*', StringComparison.Ordinal) && !isPrefix || idText.Contains('*', StringComparison.Ordinal))
                {
                    errors?.Add($"{key}:Callers:{c} '{pattern}': {error ?? "'*' is only allowed as a whole last path segment or alone."}");
                    continue;
                }

                if (!isPrefix && id.IsTrustDomainId)
                {
                    errors?.Add($"{key}:Callers:{c} '{pattern}' names a trust domain, not a workload; write '{pattern}/*' for any workload of it.");
                    continue;
                }

                if (compiled is null)
                {
                    continue;
                }

                Dictionary<string, List<CompiledRule>> index = !isPrefix ? exact : id.IsTrustDomainId ? domain : prefix;
                string indexKey = index == domain ? id.TrustDomain.Name : id.ToString();
                if (!index.TryGetValue(indexKey, out List<CompiledRule>? list))
                {
                    index[indexKey] = list = [];
                }

                if (!list.Contains(compiled))
                {
                    list.Add(compiled);
                }
            }
        }

        return new CentralPolicy(Freeze(exact), Freeze(prefix), Freeze(domain), [.. any], [.. all], options.DryRun, options.LogAllowedRequests, options.Rules.Count, options.Version, PolicyHash.Of(options), loadedAt);
    }

    private static FrozenDictionary<string, CompiledRule[]> Freeze(Dictionary<string, List<CompiledRule>> index) =>
        index.ToFrozenDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);

    private struct EvaluationState
    {
        public string? Allow;
        public string? Deny;
        public CompiledRule? AllowButForScopes;
        public List<string>? Audits;
    }
}

/// <summary>How a rule matches a request.</summary>
internal enum RuleMatch
{
    /// <summary>The caller, method, path, claims or user do not match.</summary>
    None,

    /// <summary>Everything matches, scopes included.</summary>
    Matched,

    /// <summary>Everything matches but the token lacks a scope the rule requires.</summary>
    ScopesMissing,
}

/// <summary>One rule, compiled: its action, methods, path patterns and required scopes and claims.</summary>
internal sealed partial class CompiledRule
{
    private readonly FrozenSet<string>? _methods;
    private readonly PathPattern[] _paths;
    private readonly string[] _scopes;
    private readonly KeyValuePair<string, string>[] _claims;
    private readonly bool _requireUser;
    private readonly KeyValuePair<string, string>[] _userClaims;
    private readonly string[] _callers;

    private CompiledRule(string name, int index, PolicyAction action, string[] callers, FrozenSet<string>? methods, PathPattern[] paths, string[] scopes, KeyValuePair<string, string>[] claims, bool requireUser, KeyValuePair<string, string>[] userClaims)
    {
        Index = index;
        _callers = callers;
        ScopeText = string.Join(' ', scopes);
        _requireUser = requireUser || userClaims.Length > 0;
        _userClaims = userClaims;
        Name = name;
        Action = action;
        _methods = methods;
        _paths = paths;
        _scopes = scopes;
        _claims = claims;
    }

    public string Name { get; }

    public PolicyAction Action { get; }

    /// <summary>The rule's position in configuration (<c>Rules:{Index}</c>).</summary>
    public int Index { get; }

    /// <summary>The scopes the rule requires, space-separated as in an RFC 6750 <c>scope</c> attribute.</summary>
    public string ScopeText { get; }

    /// <summary>Whether the rule matches; scopes are checked last so that a miss on them alone can be told apart.</summary>
    public RuleMatch Match(in PolicyRequest request, string path)
    {
        if (_methods is not null && !_methods.Contains(request.Method))
        {
            return RuleMatch.None;
        }

        bool pathMatches = false;
        foreach (PathPattern pattern in _paths)
        {
            if (pattern.IsMatch(path))
            {
                pathMatches = true;
                break;
            }
        }

        if (!pathMatches)
        {
            return RuleMatch.None;
        }

        foreach ((string type, string value) in _claims)
        {
            if (!request.User.HasClaim(type, value))
            {
                return RuleMatch.None;
            }
        }

        if (_requireUser)
        {
            if (request.User.GetEndUser() is not { } user)
            {
                return RuleMatch.None;
            }

            foreach ((string type, string value) in _userClaims)
            {
                if (!user.HasClaim(type, value))
                {
                    return RuleMatch.None;
                }
            }
        }

        foreach (string scope in _scopes)
        {
            if (!ScopeRequirement.HasScope(request.User, scope))
            {
                return RuleMatch.ScopesMissing;
            }
        }

        return RuleMatch.Matched;
    }

    private static bool IsScopeToken(string scope)
    {
        foreach (char c in scope)
        {
            if (c is < '\x21' or > '\x7E' or '"' or '\\')
            {
                return false;
            }
        }

        return true;
    }

    internal static CompiledRule? TryCreate(CallerRuleOptions rule, string key, int index, List<string>? errors)
    {
        int before = errors?.Count ?? 0;
        bool valid = true;
        if (!Enum.IsDefined(rule.Action))
        {
            errors?.Add($"{key}:Action must be Allow, Deny or Audit.");
            valid = false;
        }

        if (rule.Callers.Count == 0)
        {
            errors?.Add($"{key}:Callers is empty: name the caller SPIFFE IDs this rule applies to.");
            valid = false;
        }

        if (rule.Paths.Count == 0)
        {
            errors?.Add($"{key}:Paths is empty: name the paths this rule applies to (e.g. /invoices/*).");
            valid = false;
        }

        var paths = new List<PathPattern>(rule.Paths.Count);
        for (int p = 0; p < rule.Paths.Count; p++)
        {
            if (PathPattern.TryParse(rule.Paths[p], out PathPattern? pattern, out string? error))
            {
                paths.Add(pattern);
            }
            else
            {
                errors?.Add($"{key}:Paths:{p} '{rule.Paths[p]}': {error}");
                valid = false;
            }
        }

        FrozenSet<string>? methods = null;
        if (rule.Methods.Count > 0)
        {
            var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (int m = 0; m < rule.Methods.Count; m++)
            {
                if (string.IsNullOrWhiteSpace(rule.Methods[m]))
                {
                    errors?.Add($"{key}:Methods:{m} is empty.");
                    valid = false;
                }
                else
                {
                    set.Add(rule.Methods[m].Trim());
                }
            }

            methods = set.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        }

        foreach (string scope in rule.Scopes)
        {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). Anything else could never be granted, and
            // would break the quoted scope of an insufficient_scope challenge (RFC 6750 §3).
            if (string.IsNullOrEmpty(scope) || !IsScopeToken(scope))
            {
                errors?.Add($"{key}:Scopes has '{scope}', which is not a scope token (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes).");
                valid = false;
            }
        }

        return valid && (errors?.Count ?? 0) == before
            ? new CompiledRule(rule.Name ?? $"rule-{index}", index, rule.Action, [.. rule.Callers], methods, [.. paths], [.. rule.Scopes], [.. rule.Claims], rule.RequireUser, [.. rule.UserClaims])
            : null;
    }
}
