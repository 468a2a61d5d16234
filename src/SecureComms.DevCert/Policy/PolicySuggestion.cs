using System.Globalization;

namespace SecureComms.DevCert;

/// <summary>A suggested Allow rule: one caller, the methods it used, the path patterns it used them on.</summary>
internal sealed record SuggestedRule(string Name, string Caller, IReadOnlyList<string> Methods, IReadOnlyList<string> Paths, IReadOnlyList<string> Scopes, int Calls, IReadOnlyList<string> Evidence);

/// <summary>The least Allow rules that allow exactly the served calls of a set of decision events.</summary>
internal sealed class PolicySuggestion
{
    private const int EvidenceShown = 8;

    private PolicySuggestion(List<SuggestedRule> rules, int served, bool scopesLogged, List<string> notes)
    {
        Rules = rules;
        Served = served;
        ScopesLogged = scopesLogged;
        Notes = notes;
    }

    /// <summary>The rules, by caller, then methods.</summary>
    public IReadOnlyList<SuggestedRule> Rules { get; }

    /// <summary>Served calls behind the rules.</summary>
    public int Served { get; }

    /// <summary>Whether any event carried the caller's scopes.</summary>
    public bool ScopesLogged { get; }

    /// <summary>What the rules leave out, for the reviewer: refused calls, events that could not be used.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>
    /// Groups the served calls (1413, 1401) by caller, then by the set of methods used on each path pattern. A path
    /// becomes a pattern only through a route template (<paramref name="routes"/> and those the events name).
    /// </summary>
    public static PolicySuggestion From(IReadOnlyList<AuditEvent> events, IReadOnlyList<RouteTemplate> routes)
    {
        var templates = new List<RouteTemplate>(routes);
        foreach (AuditEvent audit in events)
        {
            if (audit.TargetIsRoute && RouteTemplate.TryParse(audit.Target) is { } route && !templates.Exists(t => t.Text == route.Text))
            {
                templates.Add(route);
            }
        }

        // Most literal segments first: /orders/recent wins over /orders/{id} for /orders/recent.
        templates.Sort((a, b) => b.LiteralSegments.CompareTo(a.LiteralSegments));
        var calls = new SortedDictionary<string, SortedDictionary<string, PathUse>>(StringComparer.Ordinal);
        var refused = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var notes = new List<string>();
        int served = 0;
        int noCaller = 0;
        bool scopesLogged = false;
        foreach (AuditEvent audit in events)
        {
            scopesLogged |= audit.Scopes is not null;
            if (!audit.Served)
            {
                string key = $"{audit.Caller} {audit.Method} {audit.Target} ({audit.Reason}, rule {audit.Rule})";
                refused[key] = refused.GetValueOrDefault(key) + 1;
                continue;
            }

            if (!SpiffeId.TryParse(audit.Caller, out SpiffeId caller) || caller.IsTrustDomainId)
            {
                noCaller++;
                continue;
            }

            string method = audit.Method.ToUpperInvariant();
            string pattern;
            string evidence;
            if (audit.TargetIsRoute)
            {
                if (RouteTemplate.TryParse(audit.Target) is not { } route)
                {
                    notes.Add($"not used: {audit.Caller} {method} {audit.Target} has no route template to make a path of.");
                    continue;
                }

                pattern = route.Pattern;
                evidence = $"{method} {route.Text}";
            }
            else if (PathCanonicalizer.TryCanonicalize(audit.Target, out string path))
            {
                RouteTemplate? route = templates.Find(t => t.Matches(path));
                pattern = route?.Pattern ?? path;
                evidence = route is null ? $"{method} {path}" : $"{method} {route.Text}";
            }
            else
            {
                notes.Add($"not used: {audit.Caller} {method} {audit.Target} is not a canonical path (the service refuses it).");
                continue;
            }

            served++;
            if (!calls.TryGetValue(caller.ToString(), out SortedDictionary<string, PathUse>? paths))
            {
                calls[caller.ToString()] = paths = new SortedDictionary<string, PathUse>(StringComparer.Ordinal);
            }

            if (!paths.TryGetValue(pattern, out PathUse? use))
            {
                paths[pattern] = use = new PathUse();
            }

            use.Add(method, evidence, audit.Scopes);
        }

        var rules = new List<SuggestedRule>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string caller, SortedDictionary<string, PathUse> paths) in calls)
        {
            // One rule per set of methods: Methods x Paths must not allow a method on a path it was never used on.
            foreach (IGrouping<string, KeyValuePair<string, PathUse>> group in paths.GroupBy(p => string.Join(',', p.Value.Methods), StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                List<KeyValuePair<string, PathUse>> members = [.. group];
                string[] methods = [.. members[0].Value.Methods];
                string name = UniqueName($"{Slug(caller)}-{string.Join('-', methods).ToLowerInvariant()}", names);
                var evidence = members.SelectMany(m => m.Value.Evidence).OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).ToList();
                List<string> shown = [.. evidence.Take(EvidenceShown).Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key} x{e.Value}"))];
                if (evidence.Count > EvidenceShown)
                {
                    shown.Add(string.Create(CultureInfo.InvariantCulture, $"{evidence.Count - EvidenceShown} more"));
                }

                SortedSet<string>? scopes = null;
                foreach (KeyValuePair<string, PathUse> member in members)
                {
                    scopes = scopes is null ? new SortedSet<string>(member.Value.Scopes, StringComparer.Ordinal) : scopes;
                    scopes.IntersectWith(member.Value.Scopes);
                }

                rules.Add(new SuggestedRule(name, caller, methods, [.. members.Select(m => m.Key)], [.. scopes ?? []], members.Sum(m => m.Value.Calls), shown));
            }
        }

        foreach ((string call, int count) in refused)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"refused, not allowed by the suggestion: {call} x{count}"));
        }

        if (noCaller > 0)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"not used: {noCaller} served call(s) without a caller SPIFFE ID."));
        }

        return new PolicySuggestion(rules, served, scopesLogged, notes);
    }

    private static string Slug(string caller)
    {
        string last = caller[(caller.LastIndexOf('/') + 1)..];
        return last.Length == 0 ? "caller" : last.ToLowerInvariant();
    }

    private static string UniqueName(string name, HashSet<string> names)
    {
        string candidate = name;
        for (int i = 2; !names.Add(candidate); i++)
        {
            candidate = string.Create(CultureInfo.InvariantCulture, $"{name}-{i}");
        }

        return candidate;
    }

    private sealed class PathUse
    {
        private readonly SortedSet<string> _methods = new(StringComparer.Ordinal);
        private SortedSet<string>? _scopes;

        public IEnumerable<string> Methods => _methods;

        public IEnumerable<string> Scopes => _scopes ?? [];

        public Dictionary<string, int> Evidence { get; } = new(StringComparer.Ordinal);

        public int Calls { get; private set; }

        public void Add(string method, string evidence, IReadOnlyList<string>? scopes)
        {
            _methods.Add(method);
            Evidence[evidence] = Evidence.GetValueOrDefault(evidence) + 1;
            Calls++;

            // Only the scopes every call carried; a call without logged scopes leaves none to require.
            IEnumerable<string> carried = scopes ?? [];
            if (_scopes is null)
            {
                _scopes = new SortedSet<string>(carried, StringComparer.Ordinal);
            }
            else
            {
                _scopes.IntersectWith(carried);
            }
        }
    }
}
