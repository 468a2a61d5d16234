using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace SecureComms;

/// <summary>
/// A SPIFFE ID, <c>spiffe://trust-domain/path</c>, parsed exactly as the SPIFFE-ID specification says: lowercase
/// scheme and trust domain, no userinfo, port, query, fragment or percent-encoding, path segments of letters, digits,
/// <c>.</c>, <c>-</c> and <c>_</c> with no empty, <c>.</c> or <c>..</c> segment and no trailing <c>/</c>, at most 2048
/// bytes. Comparison is ordinal. The <c>default</c> value is empty and never valid.
/// </summary>
[JsonConverter(typeof(SpiffeIdJsonConverter))]
public readonly struct SpiffeId : IEquatable<SpiffeId>
{
    private readonly string? _value;
    private readonly string? _trustDomain;
    private readonly string? _path;

    private SpiffeId(string value, string trustDomain, string path)
    {
        _value = value;
        _trustDomain = trustDomain;
        _path = path;
    }

    /// <summary>The trust domain, e.g. <c>example.org</c>.</summary>
    public TrustDomain TrustDomain => _trustDomain is null ? default : TrustDomain.FromValidated(_trustDomain);

    /// <summary>The path, e.g. <c>/ns/prod/sa/orders</c>; empty for the ID of a trust domain itself.</summary>
    public string Path => _path ?? string.Empty;

    /// <summary>Whether this is the <c>default</c> (empty) value.</summary>
    public bool IsEmpty => _value is null;

    /// <summary>Whether the path is empty, i.e. this names a trust domain, which no workload may use (X509-SVID §2).</summary>
    public bool IsTrustDomainId => _value is not null && _path!.Length == 0;

    /// <summary>
    /// Parses a SPIFFE ID. Never throws anything but <see cref="FormatException"/>, not even for <see langword="null"/>.
    /// </summary>
    /// <exception cref="FormatException">The text is not a valid SPIFFE ID; the message says precisely why.</exception>
    public static SpiffeId Parse(string value)
    {
        if (!TryParse(value, out SpiffeId id, out string? error))
        {
            throw new FormatException($"{SpiffeIdGrammar.Echo(value)} is not a valid SPIFFE ID: {error}");
        }

        return id;
    }

    /// <summary>Tries to parse a SPIFFE ID.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out SpiffeId id) => TryParse(value, out id, out _);

    /// <summary>
    /// Tries to parse a SPIFFE ID; on failure <paramref name="error"/> says precisely why. Refusing allocates nothing.
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out SpiffeId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        if (string.IsNullOrEmpty(value))
        {
            error = SpiffeIdGrammar.Empty;
            return false;
        }

        // SPIFFE-ID §2.3: at most 2048 bytes. Every valid character is ASCII (one byte), so counting chars is exact
        // for any ID that can be valid; a non-ASCII character is refused below whatever its UTF-8 length.
        if (value.Length > SpiffeIdGrammar.MaxIdLength)
        {
            error = SpiffeIdGrammar.IdTooLong;
            return false;
        }

        // SPIFFE-ID §2: the scheme is 'spiffe'. §2.4 calls it case-insensitive, but like go-spiffe we only accept the
        // canonical lowercase form, so one identity has one spelling (authorization compares ordinally).
        if (!value.StartsWith(SpiffeIdGrammar.Scheme, StringComparison.Ordinal))
        {
            error = value.StartsWith(SpiffeIdGrammar.Scheme, StringComparison.OrdinalIgnoreCase)
                ? SpiffeIdGrammar.UppercaseScheme
                : SpiffeIdGrammar.WrongScheme;
            return false;
        }

        // RFC 3986 §3.2: the authority ends at the first '/', '?' or '#'.
        ReadOnlySpan<char> rest = value.AsSpan(SpiffeIdGrammar.Scheme.Length);
        int authorityEnd = rest.IndexOfAny('/', '?', '#');
        ReadOnlySpan<char> trustDomain = authorityEnd < 0 ? rest : rest[..authorityEnd];
        error = SpiffeIdGrammar.ValidateTrustDomain(trustDomain); // SPIFFE-ID §2.1
        if (error is not null)
        {
            return false;
        }

        ReadOnlySpan<char> path = authorityEnd < 0 ? [] : rest[authorityEnd..];
        if (!path.IsEmpty && path[0] != '/')
        {
            error = path[0] == '?' ? SpiffeIdGrammar.Query : SpiffeIdGrammar.Fragment; // SPIFFE-ID §2
            return false;
        }

        error = SpiffeIdGrammar.ValidatePath(path); // SPIFFE-ID §2.2
        if (error is not null)
        {
            return false;
        }

        id = new SpiffeId(value, trustDomain.ToString(), path.IsEmpty ? string.Empty : path.ToString());
        return true;
    }

    /// <summary>
    /// Builds a SPIFFE ID from a trust domain and a path such as <c>/ns/prod/sa/orders</c>; an empty path gives the ID of
    /// the trust domain itself.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The trust domain is empty, the path breaks SPIFFE-ID §2.2, or the whole ID would exceed 2048 bytes.
    /// </exception>
    public static SpiffeId FromPath(TrustDomain trustDomain, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (trustDomain.IsEmpty)
        {
            throw new ArgumentException(SpiffeIdGrammar.MissingTrustDomain, nameof(trustDomain));
        }

        string? error = SpiffeIdGrammar.ValidatePath(path);
        if (error is not null)
        {
            throw new ArgumentException($"{SpiffeIdGrammar.Echo(path)} is not a valid SPIFFE ID path: {error}", nameof(path));
        }

        // SPIFFE-ID §2.3
        if (SpiffeIdGrammar.Scheme.Length + trustDomain.Name.Length + path.Length > SpiffeIdGrammar.MaxIdLength)
        {
            throw new ArgumentException(SpiffeIdGrammar.IdTooLong, nameof(path));
        }

        return FromValidatedParts(trustDomain, path);
    }

    internal static SpiffeId FromValidatedParts(TrustDomain trustDomain, string path) =>
        new(SpiffeIdGrammar.Scheme + trustDomain.Name + path, trustDomain.Name, path);

    /// <summary>Whether this ID belongs to <paramref name="trustDomain"/>.</summary>
    public bool IsMemberOf(TrustDomain trustDomain) =>
        _trustDomain is not null && string.Equals(_trustDomain, trustDomain.Name, StringComparison.Ordinal);

    /// <inheritdoc />
    public bool Equals(SpiffeId other) => string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SpiffeId other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _value is null ? 0 : StringComparer.Ordinal.GetHashCode(_value);

    /// <summary>The SPIFFE ID as a URI string, e.g. <c>spiffe://example.org/orders</c>; empty for <c>default</c>.</summary>
    public override string ToString() => _value ?? string.Empty;

    /// <summary>Equality, ordinal.</summary>
    public static bool operator ==(SpiffeId left, SpiffeId right) => left.Equals(right);

    /// <summary>Inequality, ordinal.</summary>
    public static bool operator !=(SpiffeId left, SpiffeId right) => !left.Equals(right);
}
