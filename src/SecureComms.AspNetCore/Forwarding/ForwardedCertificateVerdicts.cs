using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>
/// Verdicts on forwarded certificates, kept as the handshake verdict is kept per connection: a proxy forwards the same
/// certificate on every request of a caller, and building its chain each time costs about a millisecond. Keyed by the
/// SHA-256 of the forwarded header values (the text is not kept). Only valid verdicts are kept, each only while the trust
/// bundles are the snapshot it was made against and until the earliest expiry in its validated path; the number of
/// entries is bounded (the cache is emptied when full), so forwarded headers cannot grow it without limit.
/// </summary>
internal sealed class ForwardedCertificateVerdicts(int capacity = ForwardedCertificateVerdicts.DefaultCapacity)
{
    internal const int DefaultCapacity = 1024;

    private readonly ConcurrentDictionary<Sha256Key, Verdict> _verdicts = new();

    internal int Count => _verdicts.Count;

    /// <summary>The kept verdict for <paramref name="key"/>, if it was made against <paramref name="bundles"/> and is still in force at <paramref name="now"/>.</summary>
    public bool TryGet(Sha256Key key, TrustBundleSet bundles, DateTimeOffset now, out X509Certificate2? certificate, out SvidValidationResult? result)
    {
        if (_verdicts.TryGetValue(key, out Verdict? verdict) && ReferenceEquals(verdict.Bundles, bundles) && now < verdict.ValidUntil)
        {
            certificate = verdict.Certificate;
            result = verdict.Result;
            return true;
        }

        certificate = null;
        result = null;
        return false;
    }

    /// <summary>Keeps a valid verdict; an invalid one, or one without an expiry, is never kept.</summary>
    public void Add(Sha256Key key, TrustBundleSet bundles, X509Certificate2 certificate, SvidValidationResult result)
    {
        if (!result.IsValid || result.ValidUntil is not { } validUntil)
        {
            return;
        }

        if (_verdicts.Count >= capacity)
        {
            _verdicts.Clear();
        }

        _verdicts[key] = new Verdict(bundles, certificate, result, validUntil);
    }

    private sealed record Verdict(TrustBundleSet Bundles, X509Certificate2 Certificate, SvidValidationResult Result, DateTimeOffset ValidUntil);
}
