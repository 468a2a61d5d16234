namespace SecureComms;

/// <summary>
/// The outcome of validating a peer certificate as an X.509-SVID: either the peer's SPIFFE ID, or the reason it was
/// rejected with a short explanation that is safe to log (it never contains key material).
/// </summary>
public sealed class SvidValidationResult
{
    private SvidValidationResult(SpiffeId spiffeId, SvidValidationFailure failure, string? detail)
    {
        SpiffeId = spiffeId;
        Failure = failure;
        Detail = detail;
    }

    /// <summary>Whether the certificate is a valid SVID trusted by the bundle of its trust domain.</summary>
    public bool IsValid => Failure == SvidValidationFailure.None;

    /// <summary>The SPIFFE ID found in the certificate; may be set even when validation failed later.</summary>
    public SpiffeId SpiffeId { get; }

    /// <summary>The reason for rejection, or <see cref="SvidValidationFailure.None"/>.</summary>
    public SvidValidationFailure Failure { get; }

    /// <summary>A short human-readable explanation, safe to log.</summary>
    public string? Detail { get; }

    /// <summary>
    /// For a successful validation of a whole path: the earliest <c>NotAfter</c> of the leaf and the CAs above it (UTC),
    /// after which this verdict no longer holds. A server re-checks it per request, since a connection can outlive any
    /// certificate of its path; <see langword="null"/> when the result was not produced by a path validation.
    /// </summary>
    public DateTimeOffset? ValidUntil { get; private init; }

    /// <summary>A successful result for <paramref name="spiffeId"/>.</summary>
    public static SvidValidationResult Success(SpiffeId spiffeId) => new(spiffeId, SvidValidationFailure.None, null);

    /// <summary>A successful path validation whose certificates all remain valid until <paramref name="validUntilUtc"/>.</summary>
    internal static SvidValidationResult Success(SpiffeId spiffeId, DateTime validUntilUtc) =>
        new(spiffeId, SvidValidationFailure.None, null) { ValidUntil = new DateTimeOffset(validUntilUtc, TimeSpan.Zero) };

    /// <summary>A failed result.</summary>
    public static SvidValidationResult Fail(SvidValidationFailure failure, string detail, SpiffeId spiffeId = default)
    {
        if (failure == SvidValidationFailure.None)
        {
            throw new ArgumentOutOfRangeException(nameof(failure), "A failure needs a reason.");
        }

        return new(spiffeId, failure, detail);
    }

    /// <inheritdoc />
    public override string ToString() => IsValid ? $"Valid SVID {SpiffeId}" : $"{Failure}: {Detail}";
}
