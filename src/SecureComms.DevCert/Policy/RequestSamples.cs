using System.Security.Claims;

namespace SecureComms.DevCert;

/// <summary>
/// The finite set of requests that stands for every request a set of policies can tell apart: each caller pattern as
/// concrete SPIFFE IDs (exact as is; a prefix <c>…/team/*</c> as <c>…/team</c> and <c>…/team/any</c>; a trust domain as
/// an unlisted workload of it, <c>spiffe://td/unlisted</c>, which also stands for every caller no rule names), the
/// methods the rules name plus one they do not, each path pattern as concrete paths (exact; a prefix's base and a child;
/// a sample segment for each one-segment wildcard; a suffix with and without a segment before it) plus near misses (a
/// child of an exact path, a sibling that only starts with the pattern's last segment), and the credentials that decide
/// scopes and claims: none, all of them, and each rule's own, with no end user, a user without claims, and users with
/// every rule's user claims. Decisions on them come from <see cref="CentralPolicy.Evaluate"/>, never from this class.
/// </summary>
internal sealed class RequestSamples
{
    /// <summary>The segment used wherever a pattern leaves a segment open.</summary>
    public const string SampleSegment = "any";

    /// <summary>The workload path of a caller no rule names, in each trust domain seen.</summary>
    public const string UnlistedWorkload = "unlisted";

    private static readonly string[] OtherMethods = ["GET", "POST", "PUT", "DELETE", "PATCH"];

    private RequestSamples(List<Sample> callers, List<string> methods, List<Sample> paths, List<WorkloadVariant> workloads, List<UserVariant> users)
    {
        Callers = callers;
        Methods = methods;
        Paths = paths;
        Workloads = workloads;
        Users = users;
    }

    /// <summary>Concrete callers, each with the caller patterns it stands for.</summary>
    public IReadOnlyList<Sample> Callers { get; }

    /// <summary>Upper-case methods.</summary>
    public IReadOnlyList<string> Methods { get; }

    /// <summary>Concrete canonical paths, each with the path patterns it stands for (none for a near miss).</summary>
    public IReadOnlyList<Sample> Paths { get; }

    /// <summary>What the calling workload's token carries: scopes and claims.</summary>
    public IReadOnlyList<WorkloadVariant> Workloads { get; }

    /// <summary>The end user a call is made for, if any, and the user's claims.</summary>
    public IReadOnlyList<UserVariant> Users { get; }

    /// <summary>The request's principal as SecureComms builds it after authentication (<see cref="PolicyPrincipal"/>).</summary>
    public ClaimsPrincipal Principal(SpiffeId caller, int workload, int user)
    {
        WorkloadVariant token = Workloads[workload];
        UserVariant endUser = Users[user];
        return PolicyPrincipal.Create(
            caller,
            token.Scopes,
            [.. token.Claims.Select(c => KeyValuePair.Create(c.Type, c.Value))],
            endUser.Claims is null ? null : "user",
            endUser.Claims is null ? [] : [.. endUser.Claims.Select(c => KeyValuePair.Create(c.Type, c.Value))]);
    }

    /// <summary>The samples of every rule of <paramref name="policies"/>.</summary>
    public static RequestSamples From(IEnumerable<SecureCommsAuthorizationOptions> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        var callers = new SampleSet();
        var paths = new SampleSet();
        var methods = new SortedSet<string>(StringComparer.Ordinal);
        var trustDomains = new SortedSet<string>(StringComparer.Ordinal);
        var allScopes = new SortedSet<string>(StringComparer.Ordinal);
        var allClaims = new SortedSet<(string, string)>();
        var allUserClaims = new SortedSet<(string, string)>();
        var workloadVariants = new List<(SortedSet<string> Scopes, SortedSet<(string, string)> Claims)>();
        var userVariants = new List<SortedSet<(string, string)>>();
        foreach (SecureCommsAuthorizationOptions options in policies)
        {
            foreach (CallerRuleOptions rule in options.Rules)
            {
                foreach (string caller in rule.Callers)
                {
                    AddCaller(caller, callers, trustDomains);
                }

                foreach (string method in rule.Methods)
                {
                    if (!string.IsNullOrWhiteSpace(method))
                    {
                        methods.Add(method.Trim().ToUpperInvariant());
                    }
                }

                foreach (string path in rule.Paths)
                {
                    AddPath(path, paths);
                }

                var scopes = new SortedSet<string>(rule.Scopes, StringComparer.Ordinal);
                var claims = new SortedSet<(string, string)>(rule.Claims.Select(c => (c.Key, c.Value)));
                var userClaims = new SortedSet<(string, string)>(rule.UserClaims.Select(c => (c.Key, c.Value)));
                allScopes.UnionWith(scopes);
                allClaims.UnionWith(claims);
                allUserClaims.UnionWith(userClaims);
                workloadVariants.Add((scopes, claims));
                userVariants.Add(userClaims);
            }
        }

        foreach (string trustDomain in trustDomains.DefaultIfEmpty("example.org"))
        {
            callers.Add($"spiffe://{trustDomain}/{UnlistedWorkload}", null);
        }

        string? other = OtherMethods.FirstOrDefault(m => !methods.Contains(m));
        if (other is not null)
        {
            methods.Add(other);
        }

        workloadVariants.Insert(0, ([], []));
        workloadVariants.Insert(1, (allScopes, allClaims));
        var workloads = new List<WorkloadVariant>();
        foreach ((SortedSet<string> scopes, SortedSet<(string, string)> claims) in workloadVariants)
        {
            var variant = new WorkloadVariant([.. scopes], [.. claims]);
            if (!workloads.Exists(v => v.Label == variant.Label))
            {
                workloads.Add(variant);
            }
        }

        // No user, a user without claims, a user with all user claims, then users with each rule's user claims.
        var users = new List<UserVariant>();
        foreach (UserVariant variant in new UserVariant[] { new(null), new([]), new([.. allUserClaims]) }.Concat(userVariants.Select(c => new UserVariant([.. c]))))
        {
            if (!users.Exists(v => v.Label == variant.Label))
            {
                users.Add(variant);
            }
        }

        return new RequestSamples(callers.ToList(), [.. methods], paths.ToList(), workloads, users);
    }

    private static void AddCaller(string pattern, SampleSet callers, SortedSet<string> trustDomains)
    {
        if (pattern == "*")
        {
            return; // stood for by the unlisted workload of each trust domain
        }

        bool isPrefix = pattern.EndsWith("/*", StringComparison.Ordinal);
        if (!SpiffeId.TryParse(isPrefix ? pattern[..^2] : pattern, out SpiffeId id))
        {
            return; // the policy does not compile; its loader said why
        }

        trustDomains.Add(id.TrustDomain.Name);
        if (!isPrefix)
        {
            callers.Add(id.ToString(), pattern);
        }
        else if (id.IsTrustDomainId)
        {
            callers.Add($"spiffe://{id.TrustDomain.Name}/{UnlistedWorkload}", pattern);
        }
        else
        {
            callers.Add(id.ToString(), pattern);
            callers.Add($"{id}/{SampleSegment}", pattern);
        }
    }

    private static void AddPath(string pattern, SampleSet paths)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return;
        }

        if (pattern.Contains('{', StringComparison.Ordinal))
        {
            // A route template: '{**x}' last is a prefix, every other parameter exactly one segment.
            string[] segments = pattern.Split('/');
            if (segments[^1].StartsWith("{*", StringComparison.Ordinal))
            {
                AddPath(string.Join('/', segments[..^1]) + "/*", paths);
            }
            else
            {
                AddOneSegmentWildcards(string.Join('/', segments.Select(s => s.StartsWith('{') ? "*" : s)), pattern, paths);
            }
        }
        else if (pattern == "/*")
        {
            paths.Add("/", pattern);
            paths.Add("/" + SampleSegment, pattern);
        }
        else if (pattern.StartsWith("*/", StringComparison.Ordinal))
        {
            string suffix = pattern[1..].TrimEnd('/');
            paths.Add(suffix, pattern);
            paths.Add("/" + SampleSegment + suffix, pattern);
            paths.Add(suffix + "/" + SampleSegment, null);
        }
        else if (pattern.EndsWith("/*", StringComparison.Ordinal) && !pattern[..^2].Contains('*', StringComparison.Ordinal))
        {
            string prefix = pattern[..^2];
            paths.Add(prefix, pattern);
            paths.Add(prefix + "/" + SampleSegment, pattern);
            paths.Add(prefix + "-x", null);
        }
        else if (pattern.Contains('*', StringComparison.Ordinal))
        {
            AddOneSegmentWildcards(pattern, pattern, paths);
        }
        else
        {
            string exact = pattern.Length > 1 ? pattern.TrimEnd('/') : pattern;
            paths.Add(exact, pattern);
            paths.Add(exact.TrimEnd('/') + "/" + SampleSegment, null);
            if (exact.Length > 1)
            {
                paths.Add(exact + "-x", null);
            }
        }
    }

    // '/tenants/*/invoices' (shape, each '*' one segment): a path it matches, one a segment longer, one shorter.
    private static void AddOneSegmentWildcards(string shape, string pattern, SampleSet paths)
    {
        string concrete = string.Join('/', shape.Split('/').Select(s => s == "*" ? SampleSegment : s));
        paths.Add(concrete, pattern);
        paths.Add(concrete + "/" + SampleSegment, null);
        int last = concrete.LastIndexOf('/');
        if (last > 0)
        {
            paths.Add(concrete[..last], null);
        }
    }

    /// <summary>A concrete caller or path and the patterns it stands for.</summary>
    internal sealed record Sample(string Value, IReadOnlySet<string> Patterns);

    /// <summary>The scopes and claims of the calling workload's token.</summary>
    internal sealed record WorkloadVariant(string[] Scopes, (string Type, string Value)[] Claims)
    {
        /// <summary>For people: <c>no scopes</c>, <c>scopes a b</c>, <c>scopes a, claims k=v</c>.</summary>
        public string Label { get; } = (Scopes.Length == 0 ? "no scopes" : "scopes " + string.Join(' ', Scopes))
            + (Claims.Length == 0 ? string.Empty : ", claims " + string.Join(' ', Claims.Select(c => $"{c.Type}={c.Value}")));
    }

    /// <summary>No end user (<see cref="Claims"/> null), or a user with these claims.</summary>
    internal sealed record UserVariant((string Type, string Value)[]? Claims)
    {
        /// <summary>For people: <c>no user</c>, <c>a user</c>, <c>a user with role=buyer</c>.</summary>
        public string Label { get; } = Claims is null ? "no user"
            : Claims.Length == 0 ? "a user"
            : "a user with " + string.Join(' ', Claims.Select(c => $"{c.Type}={c.Value}"));
    }

    private sealed class SampleSet
    {
        private readonly Dictionary<string, HashSet<string>> _patterns = new(StringComparer.Ordinal);
        private readonly List<string> _order = [];

        public void Add(string value, string? pattern)
        {
            if (!_patterns.TryGetValue(value, out HashSet<string>? patterns))
            {
                _patterns[value] = patterns = new HashSet<string>(StringComparer.Ordinal);
                _order.Add(value);
            }

            if (pattern is not null)
            {
                patterns.Add(pattern);
            }
        }

        public List<Sample> ToList() => [.. _order.Select(v => new Sample(v, _patterns[v]))];
    }
}
