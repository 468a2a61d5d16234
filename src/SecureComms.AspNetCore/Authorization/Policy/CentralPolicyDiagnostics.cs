using System.Text;

namespace SecureComms;

/// <summary>A part of a rule: what a request is compared with, in the order <see cref="CompiledRule.Match"/> checks it.</summary>
internal enum RuleDimension
{
    /// <summary>The rule's <c>Callers</c>.</summary>
    Caller,

    /// <summary>The rule's <c>Methods</c>.</summary>
    Method,

    /// <summary>The rule's <c>Paths</c>, against the canonical path.</summary>
    Path,

    /// <summary>The rule's <c>Claims</c>.</summary>
    Claims,

    /// <summary>The rule's <c>RequireUser</c> and <c>UserClaims</c>.</summary>
    User,

    /// <summary>The rule's <c>Scopes</c>.</summary>
    Scopes,
}

/// <summary>One part of a rule that a request does not meet, said for people (<c>method GET not in [POST]</c>).</summary>
internal readonly record struct RuleMiss(RuleDimension Dimension, string Detail);

/// <summary>A rule and the parts of it a request does not meet; none means the rule matches.</summary>
internal sealed record RuleDiagnosis(CompiledRule Rule, IReadOnlyList<RuleMiss> Misses)
{
    /// <summary>How many of the six dimensions the request meets.</summary>
    public int MatchedDimensions
    {
        get
        {
            int missed = 0;
            RuleDimension? last = null;
            foreach (RuleMiss miss in Misses)
            {
                missed += miss.Dimension == last ? 0 : 1;
                last = miss.Dimension;
            }

            return 6 - missed;
        }
    }
}

/// <summary>
/// Diagnostics of the central policy for tools (never on the request path): which part of each rule a request does not
/// meet. Built from the same compiled rules, indexes and matchers as <see cref="Evaluate"/>, so that a rule without
/// misses is exactly a rule <see cref="Evaluate"/> finds matching.
/// </summary>
internal sealed partial class CentralPolicy
{
    /// <summary>Every valid rule, in configuration order.</summary>
    internal IReadOnlyList<CompiledRule> Rules => _rules;

    /// <summary>
    /// Each rule with what <paramref name="request"/> does not meet of it, in configuration order; empty when the path
    /// is not canonical or there is no caller (then no rule is looked at).
    /// </summary>
    internal List<RuleDiagnosis> Diagnose(in PolicyRequest request)
    {
        var diagnoses = new List<RuleDiagnosis>(_rules.Length);
        if (request.Caller.IsEmpty || !PathCanonicalizer.TryCanonicalize(request.Path, out string path))
        {
            return diagnoses;
        }

        HashSet<CompiledRule> forCaller = RulesFor(request.Caller);
        foreach (CompiledRule rule in _rules)
        {
            var misses = new List<RuleMiss>();
            if (!forCaller.Contains(rule))
            {
                misses.Add(new RuleMiss(RuleDimension.Caller, $"caller {request.Caller} not matched by {string.Join(", ", rule.Callers)}"));
            }

            rule.Diagnose(request, path, misses);
            diagnoses.Add(new RuleDiagnosis(rule, misses));
        }

        return diagnoses;
    }

    /// <summary>The rules <see cref="Evaluate"/> looks at for <paramref name="caller"/>, through the same indexes.</summary>
    private HashSet<CompiledRule> RulesFor(SpiffeId caller)
    {
        var rules = new HashSet<CompiledRule>(_forAnyCaller);
        string id = caller.ToString();
        if (_byExactId.TryGetValue(id, out CompiledRule[]? exact))
        {
            rules.UnionWith(exact);
        }

        int root = "spiffe://".Length + caller.TrustDomain.Name.Length;
        for (string candidate = id; candidate.Length > root; candidate = candidate[..candidate.LastIndexOf('/')])
        {
            if (_byPrefix.TryGetValue(candidate, out CompiledRule[]? prefixed))
            {
                rules.UnionWith(prefixed);
            }
        }

        if (_byTrustDomain.TryGetValue(caller.TrustDomain.Name, out CompiledRule[]? domainWide))
        {
            rules.UnionWith(domainWide);
        }

        return rules;
    }
}

/// <summary>Diagnostics of one rule, with the matchers of <see cref="Match"/>.</summary>
internal sealed partial class CompiledRule
{
    /// <summary>The rule's caller patterns, as configured.</summary>
    internal IReadOnlyList<string> Callers => _callers;

    /// <summary>
    /// Adds what <paramref name="request"/> (its canonical <paramref name="path"/>) does not meet of this rule, caller
    /// aside, in <see cref="Match"/>'s order; adds nothing exactly when <see cref="Match"/> says
    /// <see cref="RuleMatch.Matched"/>, and only <see cref="RuleDimension.Scopes"/> misses when it says
    /// <see cref="RuleMatch.ScopesMissing"/>.
    /// </summary>
    internal void Diagnose(in PolicyRequest request, string path, List<RuleMiss> misses)
    {
        if (_methods is not null && !_methods.Contains(request.Method))
        {
            misses.Add(new RuleMiss(RuleDimension.Method, $"method {request.Method} not in [{string.Join(", ", _methods.Order(StringComparer.Ordinal))}]"));
        }

        bool pathMatches = false;
        foreach (PathPattern pattern in _paths)
        {
            pathMatches |= pattern.IsMatch(path);
        }

        if (!pathMatches)
        {
            misses.Add(new RuleMiss(RuleDimension.Path, _paths.Length == 1
                ? $"path {path} does not match {_paths[0]}"
                : $"path {path} matches none of {string.Join(", ", (IEnumerable<PathPattern>)_paths)}"));
        }

        foreach ((string type, string value) in _claims)
        {
            if (!request.User.HasClaim(type, value))
            {
                misses.Add(new RuleMiss(RuleDimension.Claims, $"missing claim {type}={value}{Held(request.User.FindAll(type))}"));
            }
        }

        if (_requireUser)
        {
            if (request.User.GetEndUser() is not { } user)
            {
                misses.Add(new RuleMiss(RuleDimension.User, "no end user (the rule requires a verified user context)"));
            }
            else
            {
                foreach ((string type, string value) in _userClaims)
                {
                    if (!user.HasClaim(type, value))
                    {
                        misses.Add(new RuleMiss(RuleDimension.User, $"missing user claim {type}={value}{Held(user.FindAll(type))}"));
                    }
                }
            }
        }

        foreach (string scope in _scopes)
        {
            if (!ScopeRequirement.HasScope(request.User, scope))
            {
                misses.Add(new RuleMiss(RuleDimension.Scopes, $"missing scope {scope}"));
            }
        }
    }

    // " (has tenant=other)" when the principal carries the claim type with other values.
    private static string Held(IEnumerable<System.Security.Claims.Claim> claims)
    {
        var held = new StringBuilder();
        foreach (System.Security.Claims.Claim claim in claims)
        {
            held.Append(held.Length == 0 ? " (has " : ", ").Append(claim.Type).Append('=').Append(claim.Value);
        }

        return held.Length == 0 ? string.Empty : held.Append(')').ToString();
    }
}
