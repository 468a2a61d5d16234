using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace SecureComms;

/// <summary>
/// A SPIFFE trust domain name such as <c>example.org</c> (SPIFFE-ID §2.1): lowercase letters, digits,
/// <c>.</c>, <c>-</c> and <c>_</c>, at most 255 bytes. The <c>default</c> value is empty and never valid.
/// </summary>
[JsonConverter(typeof(TrustDomainJsonConverter))]
public readonly struct TrustDomain : IEquatable<TrustDomain>
{
    private readonly string? _name;

    private TrustDomain(string name) => _name = name;

    /// <summary>The trust domain name, e.g. <c>example.org</c>; empty for <c>default</c>.</summary>
    public string Name => _name ?? string.Empty;

    /// <summary>Whether this is the <c>default</c> (empty) value.</summary>
    public bool IsEmpty => _name is null;

    /// <summary>
    /// The SPIFFE ID of the trust domain itself, e.g. <c>spiffe://example.org</c>; the empty <see cref="SpiffeId"/> for
    /// <c>default</c>.
    /// </summary>
    public SpiffeId Id => _name is null ? default : SpiffeId.FromValidatedParts(this, string.Empty);

    /// <summary>
    /// Parses a trust domain name (<c>example.org</c>) or a SPIFFE ID (<c>spiffe://example.org/...</c>)
    /// whose trust domain is taken. Never throws anything but <see cref="FormatException"/>.
    /// </summary>
    /// <exception cref="FormatException">The text is not a valid trust domain; the message says why.</exception>
    public static TrustDomain Parse(string value)
    {
        if (!TryParse(value, out TrustDomain trustDomain, out string? error))
        {
            throw new FormatException($"{SpiffeIdGrammar.Echo(value)} is not a valid SPIFFE trust domain: {error}");
        }

        return trustDomain;
    }

    /// <summary>Tries to parse a trust domain name or the trust domain of a SPIFFE ID.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out TrustDomain trustDomain) =>
        TryParse(value, out trustDomain, out _);

    /// <summary>Tries to parse a trust domain; on failure <paramref name="error"/> says precisely why.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out TrustDomain trustDomain, [NotNullWhen(false)] out string? error)
    {
        trustDomain = default;
        if (string.IsNullOrEmpty(value))
        {
            error = SpiffeIdGrammar.MissingTrustDomain;
            return false;
        }

        // Anything URI-like ('scheme:/...') is read as a SPIFFE ID, so 'https://example.org' or 'spiffe:/example.org'
        // get the scheme error rather than a misleading one about a port.
        if (value.Contains(":/", StringComparison.Ordinal))
        {
            // A SPIFFE ID: take its trust domain.
            if (!SpiffeId.TryParse(value, out SpiffeId id, out error))
            {
                return false;
            }

            trustDomain = id.TrustDomain;
            return true;
        }

        error = SpiffeIdGrammar.ValidateTrustDomain(value); // SPIFFE-ID §2.1
        if (error is not null)
        {
            return false;
        }

        trustDomain = new TrustDomain(value);
        return true;
    }

    internal static TrustDomain FromValidated(string name) => new(name);

    /// <inheritdoc />
    public bool Equals(TrustDomain other) => string.Equals(_name, other._name, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is TrustDomain other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _name is null ? 0 : StringComparer.Ordinal.GetHashCode(_name);

    /// <summary>The trust domain name.</summary>
    public override string ToString() => Name;

    /// <summary>Equality by name.</summary>
    public static bool operator ==(TrustDomain left, TrustDomain right) => left.Equals(right);

    /// <summary>Inequality by name.</summary>
    public static bool operator !=(TrustDomain left, TrustDomain right) => !left.Equals(right);
}
