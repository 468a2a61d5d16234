using System.Collections.Frozen;

namespace SecureComms;

/// <summary>A compiled allow rule.</summary>
internal sealed class CallerRule(string name, SpiffeIdAuthorizer callers, PathPattern[] paths, FrozenSet<string>? methods)
{
    public string Name { get; } = name;

    public bool IsMatch(SpiffeId caller, string method, string path)
    {
        if (methods is not null && !methods.Contains(method))
        {
            return false;
        }

        if (!callers.IsAuthorized(caller))
        {
            return false;
        }

        foreach (PathPattern pattern in paths)
        {
            if (pattern.IsMatch(path))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Compiles <see cref="SecureCommsAuthorizationOptions"/> into rules, reporting every problem with its key.</summary>
internal static class CallerRuleCompiler
{
    internal static CallerRule[] Compile(SecureCommsAuthorizationOptions options, List<string>? errors)
    {
        var rules = new List<CallerRule>(options.Rules.Count);
        for (int i = 0; i < options.Rules.Count; i++)
        {
            CallerRuleOptions rule = options.Rules[i];
            string key = $"{SecureCommsOptions.SectionName}:Authorization:Rules:{i}";
            int before = errors?.Count ?? 0;
            var callers = new List<SpiffeIdAuthorizer>();
            if (rule.Callers.Count == 0)
            {
                errors?.Add($"{key}:Callers is empty: name the caller SPIFFE IDs this rule allows.");
            }

            for (int c = 0; c < rule.Callers.Count; c++)
            {
                if (SpiffeIdAuthorizer.TryParse(rule.Callers[c], out SpiffeIdAuthorizer? authorizer, out string? error))
                {
                    callers.Add(authorizer!);
                }
                else
                {
                    errors?.Add($"{key}:Callers:{c} '{rule.Callers[c]}': {error}");
                }
            }

            var paths = new List<PathPattern>();
            if (rule.Paths.Count == 0)
            {
                errors?.Add($"{key}:Paths is empty: name the paths this rule opens (e.g. /invoices/*).");
            }

            for (int p = 0; p < rule.Paths.Count; p++)
            {
                if (PathPattern.TryParse(rule.Paths[p], out PathPattern? pattern, out string? error))
                {
                    paths.Add(pattern);
                }
                else
                {
                    errors?.Add($"{key}:Paths:{p} '{rule.Paths[p]}': {error}");
                }
            }

            FrozenSet<string>? methods = null;
            if (rule.Methods.Count > 0)
            {
                var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                foreach (string method in rule.Methods)
                {
                    if (string.IsNullOrWhiteSpace(method))
                    {
                        errors?.Add($"{key}:Methods has an empty entry.");
                    }
                    else
                    {
                        set.Add(method.Trim());
                    }
                }

                methods = set.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
            }

            if ((errors?.Count ?? 0) == before && callers.Count > 0 && paths.Count > 0)
            {
                SpiffeIdAuthorizer callerAuthorizer = callers.Count == 1 ? callers[0] : SpiffeIdAuthorizer.AnyOf([.. callers]);
                rules.Add(new CallerRule(rule.Name ?? $"rule-{i}", callerAuthorizer, [.. paths], methods));
            }
        }

        return [.. rules];
    }
}
