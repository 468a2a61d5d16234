using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace SecureComms;

/// <summary>
/// Decides whether a validated peer's SPIFFE ID is acceptable, in the spirit of go-spiffe's <c>tlsconfig</c>
/// authorizers. Runs after the certificate chain was validated, so it only looks at the ID. An empty (<c>default</c>)
/// SPIFFE ID is never authorized.
/// </summary>
public abstract class SpiffeIdAuthorizer
{
    /// <summary>Whether <paramref name="id"/> is acceptable.</summary>
    public abstract bool IsAuthorized(SpiffeId id);

    /// <summary>Any valid SVID from a trusted trust domain.</summary>
    public static SpiffeIdAuthorizer Any() => AnyAuthorizer.Instance;

    /// <summary>Exactly <paramref name="id"/>.</summary>
    public static SpiffeIdAuthorizer Exact(SpiffeId id)
    {
        RequireNotEmpty(id, nameof(id));
        return new ExactAuthorizer(id);
    }

    /// <summary>Any one of <paramref name="ids"/>.</summary>
    public static SpiffeIdAuthorizer OneOf(params SpiffeId[] ids) => OneOf((IEnumerable<SpiffeId>)ids);

    /// <summary>Any one of <paramref name="ids"/>.</summary>
    public static SpiffeIdAuthorizer OneOf(IEnumerable<SpiffeId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var set = new HashSet<SpiffeId>();
        foreach (SpiffeId id in ids)
        {
            RequireNotEmpty(id, nameof(ids));
            set.Add(id);
        }

        if (set.Count == 0)
        {
            throw new ArgumentException("Name at least one SPIFFE ID.", nameof(ids));
        }

        return new OneOfAuthorizer(set.ToFrozenSet());
    }

    /// <summary>Any workload of <paramref name="trustDomain"/>.</summary>
    public static SpiffeIdAuthorizer MemberOf(TrustDomain trustDomain)
    {
        if (trustDomain.IsEmpty)
        {
            throw new ArgumentException("The trust domain is empty.", nameof(trustDomain));
        }

        return new MemberOfAuthorizer(trustDomain);
    }

    /// <summary>
    /// <paramref name="prefix"/> itself and every ID below it on path-segment boundaries: <c>spiffe://td/ns</c> matches
    /// <c>spiffe://td/ns</c> and <c>spiffe://td/ns/x</c>, never <c>spiffe://td/nsx</c>.
    /// </summary>
    public static SpiffeIdAuthorizer Prefix(SpiffeId prefix)
    {
        RequireNotEmpty(prefix, nameof(prefix));
        return prefix.IsTrustDomainId ? new MemberOfAuthorizer(prefix.TrustDomain) : new PrefixAuthorizer(prefix);
    }

    /// <summary>Authorized when every one of <paramref name="authorizers"/> authorizes.</summary>
    public static SpiffeIdAuthorizer AllOf(params SpiffeIdAuthorizer[] authorizers) => new AllOfAuthorizer(Copy(authorizers));

    /// <summary>Authorized when any one of <paramref name="authorizers"/> authorizes.</summary>
    public static SpiffeIdAuthorizer AnyOf(params SpiffeIdAuthorizer[] authorizers) => new AnyOfAuthorizer(Copy(authorizers));

    /// <summary>
    /// Parses a pattern: <c>spiffe://td/path</c> (exact), <c>spiffe://td/path/*</c> (that ID and everything below it),
    /// <c>spiffe://td/*</c> (any workload of the trust domain) or <c>*</c> (any trusted workload).
    /// </summary>
    /// <exception cref="FormatException">The pattern is invalid; the message says why.</exception>
    public static SpiffeIdAuthorizer Parse(string pattern)
    {
        if (!TryParse(pattern, out SpiffeIdAuthorizer? authorizer, out string? error))
        {
            throw new FormatException($"'{pattern}' is not a SPIFFE ID pattern: {error}");
        }

        return authorizer;
    }

    /// <summary>Tries to parse a pattern (see <see cref="Parse"/>); on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse([NotNullWhen(true)] string? pattern, [NotNullWhen(true)] out SpiffeIdAuthorizer? authorizer, [NotNullWhen(false)] out string? error)
    {
        authorizer = null;
        if (string.IsNullOrEmpty(pattern))
        {
            error = "the pattern is empty.";
            return false;
        }

        if (pattern == "*")
        {
            authorizer = Any();
            error = null;
            return true;
        }

        bool isPrefix = pattern.EndsWith("/*", StringComparison.Ordinal);
        string idText = isPrefix ? pattern[..^2] : pattern;
        if (idText.Contains('*', StringComparison.Ordinal))
        {
            error = "'*' is only allowed as a whole last path segment ('spiffe://example.org/team/*') or alone.";
            return false;
        }

        if (!SpiffeId.TryParse(idText, out SpiffeId id, out error))
        {
            return false;
        }

        if (!isPrefix && id.IsTrustDomainId)
        {
            error = $"'{pattern}' names a trust domain, not a workload; write '{pattern}/*' for any workload of it.";
            return false;
        }

        authorizer = isPrefix ? Prefix(id) : new ExactAuthorizer(id);
        return true;
    }

    private static void RequireNotEmpty(SpiffeId id, string parameter)
    {
        if (id.IsEmpty)
        {
            throw new ArgumentException("The SPIFFE ID is empty.", parameter);
        }
    }

    private static SpiffeIdAuthorizer[] Copy(SpiffeIdAuthorizer[] authorizers)
    {
        ArgumentNullException.ThrowIfNull(authorizers);
        if (authorizers.Length == 0)
        {
            throw new ArgumentException("Name at least one authorizer.", nameof(authorizers));
        }

        foreach (SpiffeIdAuthorizer authorizer in authorizers)
        {
            ArgumentNullException.ThrowIfNull(authorizer, nameof(authorizers));
        }

        return (SpiffeIdAuthorizer[])authorizers.Clone();
    }

    private sealed class AnyAuthorizer : SpiffeIdAuthorizer
    {
        internal static readonly AnyAuthorizer Instance = new();

        public override bool IsAuthorized(SpiffeId id) => !id.IsEmpty;

        public override string ToString() => "any trusted SPIFFE ID";
    }

    private sealed class ExactAuthorizer(SpiffeId expected) : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id) => !id.IsEmpty && id == expected;

        public override string ToString() => $"exact {expected}";
    }

    private sealed class OneOfAuthorizer(FrozenSet<SpiffeId> ids) : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id) => !id.IsEmpty && ids.Contains(id);

        public override string ToString() => $"one of {string.Join(", ", ids)}";
    }

    private sealed class MemberOfAuthorizer(TrustDomain trustDomain) : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id) => !id.IsEmpty && id.IsMemberOf(trustDomain);

        public override string ToString() => $"member of {trustDomain}";
    }

    private sealed class PrefixAuthorizer(SpiffeId prefix) : SpiffeIdAuthorizer
    {
        private readonly string _prefix = prefix.ToString();

        public override bool IsAuthorized(SpiffeId id)
        {
            if (id.IsEmpty)
            {
                return false;
            }

            // Path-segment boundary: spiffe://td/ns matches spiffe://td/ns and spiffe://td/ns/x, not spiffe://td/nsx.
            string value = id.ToString();
            return value.StartsWith(_prefix, StringComparison.Ordinal)
                && (value.Length == _prefix.Length || value[_prefix.Length] == '/');
        }

        public override string ToString() => $"{_prefix} and below";
    }

    private sealed class AllOfAuthorizer(SpiffeIdAuthorizer[] authorizers) : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id)
        {
            foreach (SpiffeIdAuthorizer authorizer in authorizers)
            {
                if (!authorizer.IsAuthorized(id))
                {
                    return false;
                }
            }

            return true;
        }

        public override string ToString() => $"all of ({string.Join("; ", (object[])authorizers)})";
    }

    private sealed class AnyOfAuthorizer(SpiffeIdAuthorizer[] authorizers) : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id)
        {
            foreach (SpiffeIdAuthorizer authorizer in authorizers)
            {
                if (authorizer.IsAuthorized(id))
                {
                    return true;
                }
            }

            return false;
        }

        public override string ToString() => $"any of ({string.Join("; ", (object[])authorizers)})";
    }
}
