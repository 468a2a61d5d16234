using System.Diagnostics.CodeAnalysis;

namespace SecureComms;

/// <summary>
/// Decides whether a validated peer's SPIFFE ID is acceptable, in the spirit of go-spiffe's <c>tlsconfig</c>
/// authorizers. Runs after the certificate chain was validated, so it only looks at the ID. An empty (<c>default</c>)
/// SPIFFE ID is never authorized. The built-in authorizers are immutable, thread-safe, and allocate nothing in
/// <see cref="IsAuthorized"/>.
/// </summary>
public abstract class SpiffeIdAuthorizer
{
    /// <summary>Whether <paramref name="id"/> is acceptable. Always <see langword="false"/> for an empty ID.</summary>
    public abstract bool IsAuthorized(SpiffeId id);

    /// <summary>Any valid SVID: the certificate chain check against the trust bundles already happened.</summary>
    public static SpiffeIdAuthorizer Any() => AnySpiffeIdAuthorizer.Instance;

    /// <summary>Exactly <paramref name="id"/> (ordinal comparison).</summary>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    public static SpiffeIdAuthorizer Exact(SpiffeId id)
    {
        RequireNotEmpty(id, nameof(id));
        return new ExactSpiffeIdAuthorizer(id);
    }

    /// <summary>Any one of <paramref name="ids"/> (ordinal comparison, looked up in a frozen set).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">No ID is given, or one is empty.</exception>
    public static SpiffeIdAuthorizer OneOf(params SpiffeId[] ids) => OneOf((IEnumerable<SpiffeId>)ids);

    /// <summary>Any one of <paramref name="ids"/> (ordinal comparison, looked up in a frozen set).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">No ID is given, or one is empty.</exception>
    public static SpiffeIdAuthorizer OneOf(IEnumerable<SpiffeId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var values = new List<string>();
        foreach (SpiffeId id in ids)
        {
            RequireNotEmpty(id, nameof(ids));
            values.Add(id.ToString());
        }

        if (values.Count == 0)
        {
            throw new ArgumentException("Name at least one SPIFFE ID.", nameof(ids));
        }

        return new OneOfSpiffeIdAuthorizer(values);
    }

    /// <summary>Any ID of <paramref name="trustDomain"/>: exact trust-domain comparison, no suffix matching.</summary>
    /// <exception cref="ArgumentException"><paramref name="trustDomain"/> is empty.</exception>
    public static SpiffeIdAuthorizer MemberOf(TrustDomain trustDomain)
    {
        if (trustDomain.IsEmpty)
        {
            throw new ArgumentException("The trust domain is empty.", nameof(trustDomain));
        }

        return new MemberOfSpiffeIdAuthorizer(trustDomain);
    }

    /// <summary>
    /// <paramref name="prefix"/> itself and every ID below it on path-segment boundaries: <c>spiffe://td/ns</c> matches
    /// <c>spiffe://td/ns</c> and <c>spiffe://td/ns/x</c>, never <c>spiffe://td/nsx</c>. The prefix of a trust-domain
    /// ID (<c>spiffe://td</c>) is the same as <see cref="MemberOf"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is empty.</exception>
    public static SpiffeIdAuthorizer Prefix(SpiffeId prefix)
    {
        RequireNotEmpty(prefix, nameof(prefix));
        return prefix.IsTrustDomainId ? new MemberOfSpiffeIdAuthorizer(prefix.TrustDomain) : new PrefixSpiffeIdAuthorizer(prefix);
    }

    /// <summary>Authorized when every one of <paramref name="authorizers"/> authorizes.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="authorizers"/> or one of them is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">No authorizer is given.</exception>
    public static SpiffeIdAuthorizer AllOf(params SpiffeIdAuthorizer[] authorizers) =>
        new AllOfSpiffeIdAuthorizer(Copy(authorizers, nameof(authorizers)));

    /// <summary>Authorized when any one of <paramref name="authorizers"/> authorizes.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="authorizers"/> or one of them is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">No authorizer is given.</exception>
    public static SpiffeIdAuthorizer AnyOf(params SpiffeIdAuthorizer[] authorizers) =>
        new AnyOfSpiffeIdAuthorizer(Copy(authorizers, nameof(authorizers)));

    /// <summary>
    /// Parses a pattern: <c>spiffe://td/path</c> (exactly that ID), <c>spiffe://td/path/*</c> (that ID and everything
    /// below it on segment boundaries), <c>spiffe://td/*</c> (any ID of the trust domain) or <c>*</c> (any valid SVID).
    /// Never throws anything but <see cref="FormatException"/>, not even for <see langword="null"/>.
    /// </summary>
    /// <exception cref="FormatException">The pattern is invalid; the message says precisely why.</exception>
    public static SpiffeIdAuthorizer Parse(string pattern)
    {
        if (!TryParse(pattern, out SpiffeIdAuthorizer? authorizer, out string? error))
        {
            throw new FormatException($"{SpiffeIdGrammar.Echo(pattern)} is not a SPIFFE ID pattern: {error}");
        }

        return authorizer;
    }

    /// <summary>Tries to parse a pattern (see <see cref="Parse"/>); on failure <paramref name="error"/> says precisely why.</summary>
    public static bool TryParse(
        [NotNullWhen(true)] string? pattern,
        [NotNullWhen(true)] out SpiffeIdAuthorizer? authorizer,
        [NotNullWhen(false)] out string? error)
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

        // 'spiffe://*' is a wildcard authority, not a path prefix: refuse it as a misplaced '*'.
        bool isPrefix = pattern.EndsWith("/*", StringComparison.Ordinal) && !pattern.EndsWith("://*", StringComparison.Ordinal);
        string idText = isPrefix ? pattern[..^2] : pattern;
        if (idText.Contains('*', StringComparison.Ordinal))
        {
            error = "'*' is only allowed alone or as the whole last path segment (e.g. 'spiffe://example.org/team/*').";
            return false;
        }

        if (!SpiffeId.TryParse(idText, out SpiffeId id, out error))
        {
            return false;
        }

        if (!isPrefix && id.IsTrustDomainId)
        {
            // X509-SVID §2: a workload's SPIFFE ID has a path, so an exact trust-domain ID would match nothing.
            error = "the pattern names a trust domain, not a workload; append '/*' to allow any workload of it.";
            return false;
        }

        authorizer = isPrefix ? Prefix(id) : new ExactSpiffeIdAuthorizer(id);
        return true;
    }

    private static void RequireNotEmpty(SpiffeId id, string parameter)
    {
        if (id.IsEmpty)
        {
            throw new ArgumentException("The SPIFFE ID is empty.", parameter);
        }
    }

    private static SpiffeIdAuthorizer[] Copy(SpiffeIdAuthorizer[] authorizers, string parameter)
    {
        ArgumentNullException.ThrowIfNull(authorizers, parameter);
        if (authorizers.Length == 0)
        {
            throw new ArgumentException("Name at least one authorizer.", parameter);
        }

        foreach (SpiffeIdAuthorizer authorizer in authorizers)
        {
            ArgumentNullException.ThrowIfNull(authorizer, parameter);
        }

        return (SpiffeIdAuthorizer[])authorizers.Clone();
    }
}
