using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>
/// Validates a peer's certificate as an X.509-SVID (X509-SVID §5): leaf rules first (§5.2: one SPIFFE ID URI SAN with
/// a workload path, <c>cA=false</c>, <c>digitalSignature</c> without <c>keyCertSign</c>/<c>cRLSign</c>, EKU for the
/// peer's side), then validity against the injected clock, then RFC 5280 path validation (§5.1) to the bundle of the
/// peer's <b>own</b> trust domain only: never the system store, never another trust domain's bundle.
/// </summary>
/// <remarks>
/// Unlike go-spiffe's <c>x509svid.Verify</c>, this also requires the key usage extension with
/// <c>digitalSignature</c> and checks the EKU against the side of the connection instead of accepting any usage.
/// Thread-safe; reads <see cref="ITrustBundleSource.Current"/> once per call. This is the validator SecureComms runs
/// in every TLS handshake, on both sides; it is public so that code that terminates TLS itself (a custom transport, a
/// development tool, a test) gets the same verdict and reasons instead of a re-implementation. It never caches: a
/// caller that keeps a verdict re-checks <see cref="SvidValidationResult.ValidUntil"/>.
/// </remarks>
public sealed class PeerCertificateValidator
{
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string BasicConstraintsOid = "2.5.29.19";
    private const string KeyUsageOid = "2.5.29.15";
    private const string ExtendedKeyUsageOid = "2.5.29.37";

    private readonly ITrustBundleSource _trustBundles;
    private readonly TimeProvider _timeProvider;
    private long _validations;

    /// <summary>Creates a validator over the given trust bundles and clock.</summary>
    /// <param name="trustBundles">The trusted bundles, one per trust domain; read once per validation.</param>
    /// <param name="timeProvider">The clock validity is judged by (one instant per validation).</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public PeerCertificateValidator(ITrustBundleSource trustBundles, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(trustBundles);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _trustBundles = trustBundles;
        _timeProvider = timeProvider;
    }

    /// <summary>How many validations ran (each one builds a chain); lets tests prove requests reuse the handshake verdict.</summary>
    internal long ValidationCount => Interlocked.Read(ref _validations);

    /// <summary>
    /// Validates <paramref name="certificate"/> (the peer's leaf) with the intermediates the peer presented.
    /// Never throws for bad input: every problem is a failed <see cref="SvidValidationResult"/>.
    /// </summary>
    /// <param name="certificate">The peer's leaf certificate; <see langword="null"/> when none was presented.</param>
    /// <param name="presentedIntermediates">Intermediates sent by the peer; used only to build the path, never trusted.</param>
    /// <param name="side">Which side the peer is, deciding the required EKU.</param>
    /// <returns>The peer's SPIFFE ID, or the reason it was refused with a detail that is safe to log.</returns>
    public SvidValidationResult Validate(X509Certificate2? certificate, X509Certificate2Collection? presentedIntermediates, PeerSide side)
    {
        Interlocked.Increment(ref _validations);
        if (certificate is null)
        {
            return SvidValidationResult.Fail(SvidValidationFailure.NoCertificate, "the peer presented no certificate.");
        }

        SpiffeId id = default;
        try
        {
            if (!SvidInspector.TryGetSpiffeId(certificate, out id, out SvidValidationFailure failure, out string? error))
            {
                return SvidValidationResult.Fail(failure, error, id);
            }

            DateTimeOffset now = _timeProvider.GetUtcNow(); // one instant for the whole decision
            return ValidateLeaf(certificate, id, side)
                ?? ValidateValidity(certificate, id, "the SVID", now)
                ?? ValidatePath(certificate, presentedIntermediates, id, now);
        }
        catch (CryptographicException ex)
        {
            return Malformed(id, ex);
        }
        catch (AsnContentException ex)
        {
            return Malformed(id, ex);
        }
        catch (ArgumentException ex)
        {
            return Malformed(id, ex);
        }
    }

    private static SvidValidationResult Malformed(SpiffeId id, Exception ex) =>
        SvidValidationResult.Fail(SvidValidationFailure.InvalidChain, $"the certificate is malformed ({ex.GetType().Name}).", id);

    /// <summary>X509-SVID §4.1, §4.3, §4.4 and §5.2: the leaf-only rules.</summary>
    private static SvidValidationResult? ValidateLeaf(X509Certificate2 certificate, SpiffeId id, PeerSide side)
    {
        X509KeyUsageExtension? keyUsage = null;
        X509EnhancedKeyUsageExtension? extendedKeyUsage = null;
        foreach (X509Extension extension in certificate.Extensions)
        {
            switch (extension.Oid?.Value)
            {
                case BasicConstraintsOid when extension is X509BasicConstraintsExtension { CertificateAuthority: true }:
                    // §4.1 / §5.2: a leaf MUST have cA=false; a signing certificate never authenticates.
                    return SvidValidationResult.Fail(
                        SvidValidationFailure.LeafIsCertificateAuthority,
                        $"'{id}' is a CA certificate (cA=true); a leaf SVID must have cA=false.",
                        id);
                case KeyUsageOid:
                    keyUsage = extension as X509KeyUsageExtension;
                    break;
                case ExtendedKeyUsageOid:
                    extendedKeyUsage = extension as X509EnhancedKeyUsageExtension;
                    break;
            }
        }

        // §4.3: the key usage extension MUST be present on every SVID; a leaf MUST set digitalSignature and
        // MUST NOT set keyCertSign or cRLSign. A forbidden CA bit is reported before a missing digitalSignature.
        if (keyUsage is null)
        {
            return SvidValidationResult.Fail(
                SvidValidationFailure.MissingDigitalSignature, $"'{id}' has no key usage extension; a leaf SVID needs digitalSignature.", id);
        }

        X509KeyUsageFlags usages = keyUsage.KeyUsages;
        if ((usages & (X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)) != 0)
        {
            return SvidValidationResult.Fail(
                SvidValidationFailure.ForbiddenKeyUsage, $"'{id}' has key usage {usages}; keyCertSign and cRLSign are forbidden on a leaf SVID.", id);
        }

        if ((usages & X509KeyUsageFlags.DigitalSignature) == 0)
        {
            return SvidValidationResult.Fail(
                SvidValidationFailure.MissingDigitalSignature, $"'{id}' has key usage {usages} without digitalSignature.", id);
        }

        // §4.4: the EKU is optional; when present it must allow this peer's side of TLS.
        if (extendedKeyUsage is not null)
        {
            string required = side == PeerSide.Client ? ClientAuthOid : ServerAuthOid;
            bool allowed = false;
            foreach (Oid oid in extendedKeyUsage.EnhancedKeyUsages)
            {
                if (oid.Value == required)
                {
                    allowed = true;
                    break;
                }
            }

            if (!allowed)
            {
                string purpose = side == PeerSide.Client ? "clientAuth" : "serverAuth";
                return SvidValidationResult.Fail(
                    SvidValidationFailure.WrongExtendedKeyUsage, $"'{id}' is presented as a {side.ToString().ToLowerInvariant()} but its extended key usage lacks {purpose}.", id);
            }
        }

        return null;
    }

    /// <summary>Validity against the injected clock (RFC 5280 §4.1.2.5: both bounds inclusive).</summary>
    private static SvidValidationResult? ValidateValidity(X509Certificate2 certificate, SpiffeId id, string what, DateTimeOffset clock)
    {
        DateTime now = clock.UtcDateTime;
        DateTime notBefore = certificate.NotBefore.ToUniversalTime();
        DateTime notAfter = certificate.NotAfter.ToUniversalTime();
        if (now > notAfter)
        {
            return SvidValidationResult.Fail(
                SvidValidationFailure.Expired, $"{what} '{Describe(certificate)}' expired at {Format(notAfter)} (now {Format(now)}).", id);
        }

        if (now < notBefore)
        {
            return SvidValidationResult.Fail(
                SvidValidationFailure.NotYetValid, $"{what} '{Describe(certificate)}' is not valid before {Format(notBefore)} (now {Format(now)}).", id);
        }

        return null;
    }

    /// <summary>X509-SVID §5.1: RFC 5280 path validation to the bundle of the ID's own trust domain.</summary>
    private SvidValidationResult ValidatePath(X509Certificate2 certificate, X509Certificate2Collection? presentedIntermediates, SpiffeId id, DateTimeOffset now)
    {
        // Federation: only the bundle of the peer's own trust domain may vouch for it, even if a CA of another
        // trusted domain signed the certificate.
        if (!_trustBundles.Current.TryGetBundle(id.TrustDomain, out TrustBundle? bundle))
        {
            return SvidValidationResult.Fail(SvidValidationFailure.UnknownTrustDomain, $"no trust bundle for trust domain '{id.TrustDomain}' of '{id}'.", id);
        }

        using var chain = new X509Chain();
        X509ChainPolicy policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust; // the bundle only, never the system store
        policy.CustomTrustStore.AddRange(bundle.Authorities);
        if (presentedIntermediates is not null)
        {
            policy.ExtraStore.AddRange(presentedIntermediates);
        }

        // SVIDs are short-lived and SPIFFE defines no revocation (no CRL or OCSP endpoints), so there is nothing to
        // check; trust is withdrawn by removing an authority from the bundle.
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true; // no AIA fetches: no network on the handshake path

        // Evaluate the path at the injected clock, not the system clock. (VerificationTimeIgnored=true would mean
        // "use the system clock".) Expired/NotYetValid are then reported precisely by the element walk below.
        policy.VerificationTimeIgnored = false;
        policy.VerificationTime = now.UtcDateTime;

        X509ChainElementCollection? elements = null;
        try
        {
            bool built = chain.Build(certificate);
            elements = chain.ChainElements;
            SvidValidationResult? chainFailure = MapChainStatus(chain.ChainStatus, id, bundle);
            if (chainFailure is not null)
            {
                return chainFailure;
            }

            if (elements.Count < 2)
            {
                // The leaf is itself in the bundle: an authority is never a workload identity (X509-SVID §3.2).
                return SvidValidationResult.Fail(SvidValidationFailure.InvalidChain, $"'{id}' is itself a trust anchor of its bundle.", id);
            }

            // Every certificate of the path must be within its validity now (the leaf was checked already); the verdict
            // holds until the first of them expires.
            DateTime validUntil = certificate.NotAfter.ToUniversalTime();
            for (int i = 1; i < elements.Count; i++)
            {
                X509Certificate2 authority = elements[i].Certificate;
                SvidValidationResult? timeFailure = ValidateValidity(authority, id, i == elements.Count - 1 ? "the root CA" : "the intermediate CA", now);
                if (timeFailure is not null)
                {
                    return timeFailure;
                }

                DateTime authorityNotAfter = authority.NotAfter.ToUniversalTime();
                validUntil = authorityNotAfter < validUntil ? authorityNotAfter : validUntil;
            }

            // Only a time problem may have made Build return false, and the walk above found none: be safe anyway.
            return built
                ? SvidValidationResult.Success(id, validUntil)
                : SvidValidationResult.Fail(SvidValidationFailure.InvalidChain, $"the chain of '{id}' could not be built.", id);
        }
        finally
        {
            if (elements is not null)
            {
                foreach (X509ChainElement element in elements)
                {
                    if (!IsCallerOwned(element.Certificate, certificate, presentedIntermediates, bundle))
                    {
                        element.Certificate.Dispose();
                    }
                }
            }
        }
    }

    private static SvidValidationResult? MapChainStatus(X509ChainStatus[] statuses, SpiffeId id, TrustBundle bundle)
    {
        X509ChainStatusFlags flags = X509ChainStatusFlags.NoError;
        foreach (X509ChainStatus status in statuses)
        {
            flags |= status.Status;
        }

        // NotTimeValid is left to the caller's element walk, which says which certificate and which bound, by the
        // injected clock.
        flags &= ~X509ChainStatusFlags.NotTimeValid;

        const X509ChainStatusFlags untrusted = X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain;
        if ((flags & ~untrusted) != X509ChainStatusFlags.NoError)
        {
            // Signature, basic constraints, name constraints, key usage of a CA, …: anything but "no anchor".
            return SvidValidationResult.Fail(SvidValidationFailure.InvalidChain, $"the chain of '{id}' is invalid: {flags & ~untrusted}.", id);
        }

        if (flags != X509ChainStatusFlags.NoError)
        {
            return SvidValidationResult.Fail(
                SvidValidationFailure.UntrustedRoot, $"the chain of '{id}' does not end at an authority of the '{bundle.TrustDomain}' bundle ({flags}).", id);
        }

        return null;
    }

    private static bool IsCallerOwned(X509Certificate2 candidate, X509Certificate2 leaf, X509Certificate2Collection? intermediates, TrustBundle bundle)
    {
        if (ReferenceEquals(candidate, leaf))
        {
            return true;
        }

        if (intermediates is not null)
        {
            foreach (X509Certificate2 intermediate in intermediates)
            {
                if (ReferenceEquals(candidate, intermediate))
                {
                    return true;
                }
            }
        }

        foreach (X509Certificate2 authority in bundle.Authorities)
        {
            if (ReferenceEquals(candidate, authority))
            {
                return true;
            }
        }

        return false;
    }

    private static string Describe(X509Certificate2 certificate) => certificate.Subject;

    private static string Format(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
