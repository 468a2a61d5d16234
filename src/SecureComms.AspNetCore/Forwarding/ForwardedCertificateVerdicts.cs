using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>
/// Verdicts on forwarded certificates, kept as the handshake verdict is kept per connection: a proxy forwards the same
/// certificate on every request of a caller, and building its chain each time costs about a millisecond. Keyed by the
/// SHA-256 of the forwarded header values (the text is not kept). Only valid verdicts are kept, each only while the trust
/// bundles are the snapshot it was made against and until the earliest expiry in its validated path; the number of
/// entries is bounded (<see cref="BoundedCache{TKey, TValue}"/>: expired and unused verdicts go first when it is full),
/// so forwarded headers cannot grow it without limit nor push out the verdicts of the callers a proxy keeps forwarding.
/// </summary>
internal sealed class ForwardedCertificateVerdicts(int capacity = ForwardedCertificateVerdicts.DefaultCapacity)
{
    internal const int DefaultCapacity = 1024;

    private readonly BoundedCache<Sha256Key, Verdict> _verdicts = new(capacity);

    internal int Count => _verdicts.Count;

    /// <summary>The kept verdict for <paramref name="key"/>, if it was made against <paramref name="bundles"/> and is still in force at <paramref name="now"/>.</summary>
    public bool TryGet(Sha256Key key, TrustBundleSet bundles, DateTimeOffset now, out X509Certificate2? certificate, out SvidValidationResult? result)
    {
        if (_verdicts.TryGet(key, now, out Verdict? verdict) && ReferenceEquals(verdict.Bundles, bundles))
        {
            certificate = verdict.Certificate;
            result = verdict.Result;
            return true;
        }

        certificate = null;
        result = null;
        return false;
    }

    /// <summary>Keeps a valid verdict until its path expires; an invalid one, or one without an expiry, is never kept.</summary>
    public void Add(Sha256Key key, TrustBundleSet bundles, X509Certificate2 certificate, SvidValidationResult result, DateTimeOffset now)
    {
        if (!result.IsValid || result.ValidUntil is not { } validUntil)
        {
            return;
        }

        _verdicts.Set(key, new Verdict(bundles, certificate, result), validUntil, now);
    }

    private sealed record Verdict(TrustBundleSet Bundles, X509Certificate2 Certificate, SvidValidationResult Result);
}
