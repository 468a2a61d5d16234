using System.Collections.Frozen;
using System.Text;

namespace SecureComms;

// The built-in authorizers behind SpiffeIdAuthorizer's factories. Hot path: no LINQ, no allocation, and an empty
// SPIFFE ID is never authorized (its ToString() is "", which matches no stored value).

/// <summary>Any valid SVID.</summary>
internal sealed class AnySpiffeIdAuthorizer : SpiffeIdAuthorizer
{
    internal static readonly AnySpiffeIdAuthorizer Instance = new();

    private AnySpiffeIdAuthorizer()
    {
    }

    public override bool IsAuthorized(SpiffeId id) => !id.IsEmpty;

    public override string ToString() => "any SPIFFE ID";
}

/// <summary>Exactly one ID.</summary>
internal sealed class ExactSpiffeIdAuthorizer(SpiffeId expected) : SpiffeIdAuthorizer
{
    public override bool IsAuthorized(SpiffeId id) => !id.IsEmpty && id == expected;

    public override string ToString() => $"exact {expected}";
}

/// <summary>One of a set of IDs, looked up by their ordinal string form.</summary>
internal sealed class OneOfSpiffeIdAuthorizer(IEnumerable<string> ids) : SpiffeIdAuthorizer
{
    private const int ShownInDescription = 5;

    private readonly FrozenSet<string> _ids = ids.ToFrozenSet(StringComparer.Ordinal);

    public override bool IsAuthorized(SpiffeId id) => !id.IsEmpty && _ids.Contains(id.ToString());

    public override string ToString()
    {
        var builder = new StringBuilder("one of [");
        int shown = 0;
        foreach (string id in _ids)
        {
            if (shown == ShownInDescription)
            {
                builder.Append(", ... ").Append(_ids.Count - shown).Append(" more");
                break;
            }

            builder.Append(shown == 0 ? string.Empty : ", ").Append(id);
            shown++;
        }

        return builder.Append(']').ToString();
    }
}

/// <summary>Any ID of one trust domain, compared exactly (no suffix or prefix matching of names).</summary>
internal sealed class MemberOfSpiffeIdAuthorizer(TrustDomain trustDomain) : SpiffeIdAuthorizer
{
    public override bool IsAuthorized(SpiffeId id) => !id.IsEmpty && id.IsMemberOf(trustDomain);

    public override string ToString() => $"member of {trustDomain}";
}

/// <summary>An ID with a path, and every ID below it on path-segment boundaries.</summary>
internal sealed class PrefixSpiffeIdAuthorizer(SpiffeId prefix) : SpiffeIdAuthorizer
{
    private readonly string _prefix = prefix.ToString();

    public override bool IsAuthorized(SpiffeId id)
    {
        // The prefix always has a path, so its trust domain is followed by '/' and is matched exactly: the suffix trick
        // spiffe://example.org.evil/ns fails at the '.'. Segment boundary: spiffe://td/ns matches spiffe://td/ns and
        // spiffe://td/ns/x, never spiffe://td/nsx.
        string value = id.ToString();
        return value.StartsWith(_prefix, StringComparison.Ordinal)
            && (value.Length == _prefix.Length || value[_prefix.Length] == '/');
    }

    public override string ToString() => $"prefix {_prefix} (itself and below)";
}

/// <summary>All of several authorizers.</summary>
internal sealed class AllOfSpiffeIdAuthorizer(SpiffeIdAuthorizer[] authorizers) : SpiffeIdAuthorizer
{
    public override bool IsAuthorized(SpiffeId id)
    {
        if (id.IsEmpty)
        {
            return false;
        }

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

/// <summary>Any of several authorizers.</summary>
internal sealed class AnyOfSpiffeIdAuthorizer(SpiffeIdAuthorizer[] authorizers) : SpiffeIdAuthorizer
{
    public override bool IsAuthorized(SpiffeId id)
    {
        if (id.IsEmpty)
        {
            return false;
        }

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
