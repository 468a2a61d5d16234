namespace SecureComms.DevCert;

/// <summary>The decisions two policies make differently, summarised for people.</summary>
internal sealed class PolicyDiff
{
    private PolicyDiff(List<string> lines, int opened, int closed, int compared)
    {
        Lines = lines;
        Opened = opened;
        Closed = closed;
        Compared = compared;
    }

    /// <summary>One line per change: <c>+ opens  caller METHODS paths (rule …)</c> or <c>- closes …</c>.</summary>
    public IReadOnlyList<string> Lines { get; }

    /// <summary>Concrete requests denied before and allowed now.</summary>
    public int Opened { get; }

    /// <summary>Concrete requests allowed before and denied now.</summary>
    public int Closed { get; }

    /// <summary>Concrete requests evaluated by both policies.</summary>
    public int Compared { get; }

    /// <summary>Evaluates both policies on every sample request and summarises where they differ.</summary>
    public static PolicyDiff Compare(ServicePolicy before, ServicePolicy after)
    {
        RequestSamples samples = RequestSamples.From([before.Options, after.Options]);
        var changes = new Dictionary<(bool Opens, string Caller, string Method, string Path, string Why), HashSet<(int, int)>>();
        int opened = 0;
        int closed = 0;
        int compared = 0;
        foreach (RequestSamples.Sample caller in samples.Callers)
        {
            var id = SpiffeId.Parse(caller.Value);
            var principals = new System.Security.Claims.ClaimsPrincipal[samples.Workloads.Count, samples.Users.Count];
            for (int w = 0; w < samples.Workloads.Count; w++)
            {
                for (int u = 0; u < samples.Users.Count; u++)
                {
                    principals[w, u] = samples.Principal(id, w, u);
                }
            }

            foreach (string method in samples.Methods)
            {
                foreach (RequestSamples.Sample path in samples.Paths)
                {
                    for (int w = 0; w < samples.Workloads.Count; w++)
                    {
                        for (int u = 0; u < samples.Users.Count; u++)
                        {
                            var request = new PolicyRequest(id, method, path.Value, principals[w, u]);
                            PolicyDecision old = before.Policy.Evaluate(request);
                            PolicyDecision now = after.Policy.Evaluate(request);
                            compared++;
                            if (old.Allowed == now.Allowed)
                            {
                                continue;
                            }

                            opened += now.Allowed ? 1 : 0;
                            closed += now.Allowed ? 0 : 1;
                            var key = (now.Allowed, caller.Value, method, path.Value, Why(old, now));
                            if (!changes.TryGetValue(key, out HashSet<(int, int)>? credentials))
                            {
                                changes[key] = credentials = [];
                            }

                            credentials.Add((w, u));
                        }
                    }
                }
            }
        }

        var lines = new List<string>();
        if (before.Options.DryRun != after.Options.DryRun)
        {
            lines.Add(after.Options.DryRun
                ? "+ opens  every request: DryRun false -> true, the new policy only logs what it would deny"
                : "- closes what the policy denies: DryRun true -> false, the new policy is enforced");
        }

        lines.AddRange(Summarise(changes, samples));
        return new PolicyDiff(lines, opened, closed, compared);
    }

    private static string Why(PolicyDecision old, PolicyDecision now)
    {
        string was = Describe(old);
        return now.Allowed ? $"rule {now.Rule}; was {was}" : $"{Describe(now)}; was rule {old.Rule}";
    }

    private static string Describe(PolicyDecision decision) => decision.Reason switch
    {
        PolicyDecision.AllowedByRule => $"rule {decision.Rule}",
        PolicyDecision.DeniedByRule => $"denied by rule {decision.Rule}",
        PolicyDecision.InsufficientScope => $"rule {decision.Rule} needs scopes {decision.MissingScopes}",
        PolicyDecision.NoMatchingRule => "no rule allows it",
        _ => decision.Reason,
    };

    private static List<string> Summarise(Dictionary<(bool Opens, string Caller, string Method, string Path, string Why), HashSet<(int W, int U)>> changes, RequestSamples samples)
    {
        // Credentials first: a change that holds for every token and user says nothing about them.
        var byPath = new Dictionary<(bool Opens, string Caller, string Method, string Condition, string Why), List<string>>();
        foreach (((bool opens, string caller, string method, string path, string why), HashSet<(int W, int U)> credentials) in changes)
        {
            AddTo(byPath, (opens, caller, method, Condition(credentials, samples), why), path);
        }

        var byMethod = new Dictionary<(bool Opens, string Caller, string Paths, string Condition, string Why), List<string>>();
        foreach (((bool opens, string caller, string method, string condition, string why), List<string> paths) in byPath)
        {
            AddTo(byMethod, (opens, caller, Collapse(paths, samples.Paths), condition, why), method);
        }

        var byCaller = new Dictionary<(bool Opens, string Methods, string Paths, string Condition, string Why), List<string>>();
        foreach (((bool opens, string caller, string paths, string condition, string why), List<string> methods) in byMethod)
        {
            methods.Sort(StringComparer.Ordinal);
            AddTo(byCaller, (opens, string.Join(',', methods), paths, condition, why), caller);
        }

        var lines = new List<(bool Opens, string Text)>();
        foreach (((bool opens, string methods, string paths, string condition, string why), List<string> callers) in byCaller)
        {
            string when = condition.Length == 0 ? string.Empty : $" when {condition}";
            lines.Add((opens, $"{(opens ? "+ opens " : "- closes")} {Collapse(callers, samples.Callers)} {methods} {paths}{when} ({why})"));
        }

        return [.. lines.OrderBy(l => l.Opens ? 0 : 1).ThenBy(l => l.Text, StringComparer.Ordinal).Select(l => l.Text)];
    }

    private static void AddTo<TKey>(Dictionary<TKey, List<string>> groups, TKey key, string value)
        where TKey : notnull
    {
        if (!groups.TryGetValue(key, out List<string>? list))
        {
            groups[key] = list = [];
        }

        list.Add(value);
    }

    /// <summary>
    /// The credentials a change depends on, for people: empty when it holds for all of them; else per token variant,
    /// the users it holds for unless that is every user.
    /// </summary>
    private static string Condition(HashSet<(int W, int U)> credentials, RequestSamples samples)
    {
        if (credentials.Count == samples.Workloads.Count * samples.Users.Count)
        {
            return string.Empty;
        }

        var workloads = credentials.Select(c => c.W).Distinct().Order().ToList();
        var usersPerWorkload = workloads.Select(w => credentials.Where(c => c.W == w).Select(c => c.U).Order().ToList()).ToList();
        bool sameUsers = usersPerWorkload.All(u => u.SequenceEqual(usersPerWorkload[0]));
        string Users(List<int> users) => string.Join(" or ", users.Select(u => samples.Users[u].Label));
        if (workloads.Count == samples.Workloads.Count && sameUsers)
        {
            return Users(usersPerWorkload[0]);
        }

        var parts = new List<string>();
        for (int i = 0; i < workloads.Count; i++)
        {
            string token = samples.Workloads[workloads[i]].Label;
            parts.Add(usersPerWorkload[i].Count == samples.Users.Count ? token : $"{token} and {Users(usersPerWorkload[i])}");
        }

        return string.Join(" | ", parts);
    }

    /// <summary>
    /// Values as the patterns they stand for, where every sample of a pattern is among them; the rest as they are.
    /// </summary>
    private static string Collapse(List<string> values, IReadOnlyList<RequestSamples.Sample> samples)
    {
        var present = new HashSet<string>(values, StringComparer.Ordinal);
        var covered = new HashSet<string>(StringComparer.Ordinal);
        var parts = new List<string>();
        var patterns = new List<string>();
        foreach (RequestSamples.Sample sample in samples)
        {
            if (present.Contains(sample.Value))
            {
                patterns.AddRange(sample.Patterns.Where(p => !patterns.Contains(p)));
            }
        }

        foreach (string pattern in patterns)
        {
            List<string> all = [.. samples.Where(s => s.Patterns.Contains(pattern)).Select(s => s.Value)];
            if (all.Count > 1 && all.TrueForAll(present.Contains))
            {
                parts.Add(pattern);
                covered.UnionWith(all);
            }
        }

        parts.AddRange(samples.Select(s => s.Value).Where(v => present.Contains(v) && !covered.Contains(v)));
        parts.Sort(StringComparer.Ordinal);
        return string.Join(", ", parts);
    }
}
