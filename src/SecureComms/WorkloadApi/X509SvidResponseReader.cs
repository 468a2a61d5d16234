using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Primitives;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms;

/// <summary>One usable update of the X.509 stream: the selected SVID with its key, and the trust bundles that came with it.</summary>
internal sealed record X509SvidUpdate(WorkloadCertificate Certificate, TrustBundleSet Bundles);

/// <summary>
/// Turns an <c>X509SVIDResponse</c> into a <see cref="X509SvidUpdate"/>, in memory (no temporary file), and checks it
/// before anything uses it: the key is the leaf's, the leaf is an X509-SVID for the SPIFFE ID the agent named, and its
/// chain builds to the bundle of its own trust domain. A response that fails any rule is refused with a reason that is
/// safe to log (never key material), as a half-written file is.
/// </summary>
internal static class X509SvidResponseReader
{
    private const string EcPublicKeyOid = "1.2.840.10045.2.1"; // RFC 5480 §2.1.1 id-ecPublicKey
    private const string RsaEncryptionOid = "1.2.840.113549.1.1.1"; // RFC 8017 rsaEncryption

    /// <summary>Reads and validates <paramref name="response"/>; never throws for bad input.</summary>
    /// <param name="response">The pushed response.</param>
    /// <param name="hint">The configured <c>WorkloadApi:Hint</c>, or <see langword="null"/> for the first SVID (the default, SPIFFE Workload API §5.2.1).</param>
    /// <param name="timeProvider">The clock the leaf's validity is checked against.</param>
    /// <param name="update">The update when it is usable.</param>
    /// <param name="reason">Why it was refused.</param>
    public static bool TryRead(
        X509SVIDResponse response,
        string? hint,
        TimeProvider timeProvider,
        [NotNullWhen(true)] out X509SvidUpdate? update,
        [NotNullWhen(false)] out string? reason)
    {
        ArgumentNullException.ThrowIfNull(response);
        update = null;
        if (!TrySelect(response, hint, out X509SVID? svid, out reason))
        {
            return false;
        }

        if (!SpiffeId.TryParse(svid.SpiffeId, out SpiffeId declared, out string? idError))
        {
            reason = $"the SVID's spiffe_id '{svid.SpiffeId}' is not a SPIFFE ID: {idError}";
            return false;
        }

        var owned = new List<X509Certificate2>();
        try
        {
            if (!TryReadCertificates(svid.X509Svid.Span, "x509_svid", owned, out List<X509Certificate2>? chain, out reason))
            {
                return false;
            }

            if (!TryReadBundles(response, svid, declared.TrustDomain, owned, out TrustBundleSet? bundles, out reason))
            {
                return false;
            }

            if (!TryAttachKey(chain[0], svid.X509SvidKey.Memory, out X509Certificate2? leaf, out reason))
            {
                return false;
            }

            owned.Add(leaf);
            if (!SvidInspector.TryGetSpiffeId(leaf, out SpiffeId inCertificate, out string? sanError))
            {
                reason = $"the certificate for {declared} breaks X509-SVID rules: {sanError}";
                return false;
            }

            if (inCertificate != declared)
            {
                reason = $"the certificate's SPIFFE ID {inCertificate} is not the SVID's spiffe_id {declared}.";
                return false;
            }

            var intermediates = new X509Certificate2Collection();
            for (int i = 1; i < chain.Count; i++)
            {
                intermediates.Add(chain[i]);
            }

            if (!TryValidate(chain[0], intermediates, bundles, timeProvider, out reason))
            {
                return false;
            }

            chain[0].Dispose(); // the copy without a key; the leaf with its key is kept instead
            owned.Clear();
            update = new X509SvidUpdate(new WorkloadCertificate(leaf, intermediates), bundles);
            reason = null;
            return true;
        }
        finally
        {
            foreach (X509Certificate2 certificate in owned)
            {
                certificate.Dispose();
            }
        }
    }

    /// <summary>SPIFFE Workload API §5.2.1: the first SVID is the default; an operator may choose one by its hint.</summary>
    private static bool TrySelect(X509SVIDResponse response, string? hint, [NotNullWhen(true)] out X509SVID? svid, [NotNullWhen(false)] out string? reason)
    {
        svid = null;
        if (response.Svids.Count == 0)
        {
            reason = "the response holds no X.509-SVID.";
            return false;
        }

        if (string.IsNullOrEmpty(hint))
        {
            svid = response.Svids[0];
            reason = null;
            return true;
        }

        foreach (X509SVID candidate in response.Svids)
        {
            if (string.Equals(candidate.Hint, hint, StringComparison.Ordinal))
            {
                svid = candidate;
                reason = null;
                return true;
            }
        }

        var hints = new List<string>(response.Svids.Count);
        foreach (X509SVID candidate in response.Svids)
        {
            hints.Add(string.IsNullOrEmpty(candidate.Hint) ? $"{candidate.SpiffeId} (no hint)" : $"{candidate.SpiffeId} (hint '{candidate.Hint}')");
        }

        reason = $"no X.509-SVID has the hint '{hint}' configured in SecureComms:WorkloadApi:Hint; the agent sent {string.Join(", ", hints)}.";
        return false;
    }

    /// <summary>
    /// Splits concatenated DER certificates (SPIFFE Workload API §5.2.1: <c>x509_svid</c> and <c>bundle</c> are ASN.1 DER
    /// certificates concatenated with no separator) by walking the outer SEQUENCE of each one.
    /// </summary>
    internal static bool TryReadCertificates(
        ReadOnlySpan<byte> der,
        string field,
        List<X509Certificate2> owned,
        [NotNullWhen(true)] out List<X509Certificate2>? certificates,
        [NotNullWhen(false)] out string? reason)
    {
        certificates = [];
        if (der.IsEmpty)
        {
            reason = $"{field} is empty.";
            certificates = null;
            return false;
        }

        try
        {
            while (!der.IsEmpty)
            {
                AsnDecoder.ReadEncodedValue(der, AsnEncodingRules.DER, out _, out _, out int consumed);
                X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(der[..consumed]);
                owned.Add(certificate);
                certificates.Add(certificate);
                der = der[consumed..];
            }
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException)
        {
            reason = $"{field} is not DER-encoded X.509 certificates (certificate {certificates.Count + 1}: {ex.Message.TrimEnd('.')}).";
            certificates = null;
            return false;
        }

        reason = null;
        return true;
    }

    /// <summary>The SVID's own <c>bundle</c> for its trust domain, plus <c>federated_bundles</c> keyed by trust domain ID or bare name.</summary>
    private static bool TryReadBundles(
        X509SVIDResponse response,
        X509SVID svid,
        TrustDomain own,
        List<X509Certificate2> owned,
        [NotNullWhen(true)] out TrustBundleSet? bundles,
        [NotNullWhen(false)] out string? reason)
    {
        bundles = null;
        var list = new List<TrustBundle>(1 + response.FederatedBundles.Count);
        if (!TryReadBundle(own, svid.Bundle.Span, $"the bundle of {own.Name}", owned, out TrustBundle? ownBundle, out reason))
        {
            return false;
        }

        list.Add(ownBundle);
        foreach ((string key, Google.Protobuf.ByteString value) in response.FederatedBundles)
        {
            if (!TrustDomain.TryParse(key, out TrustDomain domain, out string? error))
            {
                reason = $"the federated bundle key '{key}' is not a trust domain: {error}";
                return false;
            }

            if (domain == own)
            {
                continue; // the own trust domain's bundle is the SVID's bundle field
            }

            if (!TryReadBundle(domain, value.Span, $"the federated bundle of {domain.Name}", owned, out TrustBundle? federated, out reason))
            {
                return false;
            }

            list.Add(federated);
        }

        try
        {
            bundles = new TrustBundleSet(list);
        }
        catch (ArgumentException ex)
        {
            reason = ex.Message; // two keys for one trust domain (spiffe://td and td)
            return false;
        }

        reason = null;
        return true;
    }

    private static bool TryReadBundle(
        TrustDomain domain,
        ReadOnlySpan<byte> der,
        string what,
        List<X509Certificate2> owned,
        [NotNullWhen(true)] out TrustBundle? bundle,
        [NotNullWhen(false)] out string? reason)
    {
        bundle = null;
        if (!TryReadCertificates(der, what, owned, out List<X509Certificate2>? authorities, out reason))
        {
            return false;
        }

        try
        {
            for (int i = 0; i < authorities.Count; i++)
            {
                TrustBundleLoader.RequireAuthority(authorities[i], $"certificate {i + 1} of {what}");
            }
        }
        catch (TrustBundleException ex)
        {
            reason = ex.Message;
            return false;
        }

        bundle = new TrustBundle(domain, authorities);
        reason = null;
        return true;
    }

    /// <summary>
    /// Imports the PKCS#8 key (<c>x509_svid_key</c>) for the leaf's algorithm and pairs it with the leaf;
    /// <c>CopyWithPrivateKey</c> refuses a key whose public half is not the leaf's.
    /// </summary>
    private static bool TryAttachKey(X509Certificate2 leaf, ReadOnlyMemory<byte> pkcs8, [NotNullWhen(true)] out X509Certificate2? paired, [NotNullWhen(false)] out string? reason)
    {
        paired = null;
        if (pkcs8.IsEmpty)
        {
            reason = "x509_svid_key is empty.";
            return false;
        }

        string algorithm = leaf.GetKeyAlgorithm();
        try
        {
            X509Certificate2 withKey;
            if (algorithm == EcPublicKeyOid)
            {
                using var key = ECDsa.Create();
                key.ImportPkcs8PrivateKey(pkcs8.Span, out int read);
                if (read != pkcs8.Length)
                {
                    reason = "x509_svid_key has trailing bytes after the PKCS#8 key.";
                    return false;
                }

                withKey = leaf.CopyWithPrivateKey(key);
            }
            else if (algorithm == RsaEncryptionOid)
            {
                using var key = RSA.Create();
                key.ImportPkcs8PrivateKey(pkcs8.Span, out int read);
                if (read != pkcs8.Length)
                {
                    reason = "x509_svid_key has trailing bytes after the PKCS#8 key.";
                    return false;
                }

                withKey = leaf.CopyWithPrivateKey(key);
            }
            else
            {
                reason = $"the certificate has an unsupported key algorithm ({algorithm}); use ECDSA or RSA.";
                return false;
            }

            using (withKey)
            {
                // Re-imported through PKCS#12 in memory, as the file loaders do, so SslStream can use the key on every
                // platform (Windows refuses ephemeral keys); the bytes are wiped.
                byte[] pkcs12 = withKey.Export(X509ContentType.Pkcs12);
                try
                {
                    paired = X509CertificateLoader.LoadPkcs12(pkcs12, null);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(pkcs12);
                }
            }

            reason = null;
            return true;
        }
        catch (ArgumentException)
        {
            reason = "x509_svid_key does not match the certificate's public key.";
            return false;
        }
        catch (CryptographicException ex)
        {
            reason = $"x509_svid_key is not a usable PKCS#8 key for the certificate ({ex.Message.TrimEnd('.')}).";
            return false;
        }
    }

    /// <summary>
    /// The same rules a peer applies to this SVID (X509-SVID §4, §5): a leaf (cA=false, digitalSignature), valid now,
    /// chaining to the bundle of its own trust domain. An EKU, when present, must allow client or server use.
    /// </summary>
    private static bool TryValidate(
        X509Certificate2 leaf,
        X509Certificate2Collection intermediates,
        TrustBundleSet bundles,
        TimeProvider timeProvider,
        [NotNullWhen(false)] out string? reason)
    {
        var validator = new PeerCertificateValidator(new FixedTrustBundles(bundles), timeProvider);
        SvidValidationResult result = validator.Validate(leaf, intermediates, PeerSide.Client);
        if (result.Failure == SvidValidationFailure.WrongExtendedKeyUsage)
        {
            result = validator.Validate(leaf, intermediates, PeerSide.Server); // a server-only SVID
        }

        reason = result.IsValid ? null : $"the SVID breaks X509-SVID rules ({result.Failure}): {result.Detail}";
        return result.IsValid;
    }

    /// <summary>The bundles of one response, for validating that response's SVID.</summary>
    private sealed class FixedTrustBundles(TrustBundleSet bundles) : ITrustBundleSource
    {
        public TrustBundleSet Current => bundles;

        public IChangeToken GetChangeToken() => new CancellationChangeToken(CancellationToken.None);
    }
}
