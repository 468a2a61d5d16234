using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms.Testing;

/// <content>Issuing: valid SVIDs, certificates exactly as an <see cref="SvidSpec"/> describes, and deliberately defective ones.</content>
public sealed partial class DevelopmentCertificateAuthority
{
    /// <summary>
    /// Issues a valid X.509-SVID for <paramref name="id"/>: URI SAN = the ID and no DNS SAN (X509-SVID §2), basic
    /// constraints <c>cA=false</c> (critical, §4.1), key usage <c>digitalSignature</c> (critical, §4.3), EKU
    /// <c>clientAuth + serverAuth</c> (§4.4), subject CN = the last path segment, valid from five minutes ago.
    /// </summary>
    /// <param name="id">The workload's SPIFFE ID; must belong to <see cref="TrustDomain"/> and have a path.</param>
    /// <param name="lifetime">How long the SVID stays valid from now; default one hour.</param>
    /// <returns>The leaf with its private key and this authority's <see cref="Chain"/> as intermediates (copies).</returns>
    /// <exception cref="ArgumentException">The ID is empty, a trust domain ID, or of another trust domain.</exception>
    public WorkloadCertificate IssueSvid(SpiffeId id, TimeSpan? lifetime = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (id.IsEmpty || id.IsTrustDomainId)
        {
            throw new ArgumentException("An SVID needs a SPIFFE ID with a workload path.", nameof(id));
        }

        if (!id.IsMemberOf(TrustDomain))
        {
            throw new ArgumentException($"'{id}' is not in trust domain '{TrustDomain}'.", nameof(id));
        }

        TimeSpan validFor = lifetime ?? DefaultLeafLifetime;
        if (validFor <= TimeSpan.Zero)
        {
            throw new ArgumentException("The lifetime must be positive.", nameof(lifetime));
        }

        DateTimeOffset now = _timeProvider.GetUtcNow();
        X509Certificate2 leaf = IssueCertificate(new SvidSpec
        {
            UriSans = [id.ToString()],
            NotBefore = now - ClockSkewAllowance,
            NotAfter = now + validFor,
            CommonName = id.Path[(id.Path.LastIndexOf('/') + 1)..],
        });

        return new WorkloadCertificate(leaf, CopyChain());
    }

    /// <summary>
    /// Issues a leaf exactly as <paramref name="spec"/> describes (anything goes, including invalid SVIDs), signed by
    /// this authority, with a fresh ECDSA P-256 key.
    /// </summary>
    /// <returns>
    /// The certificate with an exportable private key, loaded through PKCS#12 so it works with <c>SslStream</c>
    /// on every platform. The caller owns and disposes it; intermediates are in <see cref="Chain"/>.
    /// </returns>
    public X509Certificate2 IssueCertificate(SvidSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ObjectDisposedException.ThrowIf(_disposed, this);

        DateTimeOffset now = _timeProvider.GetUtcNow();
        DateTimeOffset notBefore = spec.NotBefore ?? now - ClockSkewAllowance;
        DateTimeOffset notAfter = spec.NotAfter ?? now + DefaultLeafLifetime;

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var nameBuilder = new X500DistinguishedNameBuilder();
        nameBuilder.AddOrganizationName(OrganizationName);
        if (!string.IsNullOrEmpty(spec.CommonName))
        {
            nameBuilder.AddCommonName(spec.CommonName);
        }

        var request = new CertificateRequest(nameBuilder.Build(), leafKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(spec.IsCertificateAuthority, false, 0, critical: true));
        if (spec.KeyUsage is { } keyUsage)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(keyUsage, critical: true));
        }

        if (spec.ExtendedKeyUsageOids is { } ekus)
        {
            var oids = new OidCollection();
            foreach (string oid in ekus)
            {
                oids.Add(new Oid(oid));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, critical: false));
        }

        if (spec.UriSans.Count > 0 || spec.DnsSans.Count > 0)
        {
            // URI SANs are encoded by hand (GeneralName [6] IA5String, RFC 5280 §4.2.1.6) because System.Uri would
            // normalise them (e.g. add a trailing '/'), and defect tests need the exact text.
            // RFC 5280 §4.1.2.6: the SAN must be critical when the subject is empty.
            bool subjectEmpty = string.IsNullOrEmpty(spec.CommonName);
            request.CertificateExtensions.Add(new X509Extension(SubjectAlternativeNameOid, EncodeSubjectAltNames(spec), subjectEmpty));
        }

        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));

        using X509Certificate2 publicOnly = Sign(request, notBefore, notAfter);
        using X509Certificate2 withKey = publicOnly.CopyWithPrivateKey(leafKey);

        // A PKCS#12 round trip gives a certificate whose key SslStream can use on every platform (Windows rejects
        // ephemeral CopyWithPrivateKey keys for TLS); the bytes never leave memory and are wiped.
        byte[] pkcs12 = withKey.Export(X509ContentType.Pkcs12);
        try
        {
            return X509CertificateLoader.LoadPkcs12(pkcs12, null, X509KeyStorageFlags.Exportable);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs12);
        }
    }

    /// <summary>
    /// Issues an SVID for <paramref name="id"/> that is valid except for one deliberate <paramref name="defect"/>.
    /// </summary>
    /// <returns>The defective leaf, with its private key; intermediates are in <see cref="Chain"/>.</returns>
    public X509Certificate2 IssueDefective(SpiffeId id, SvidDefect defect)
    {
        if (id.IsEmpty)
        {
            throw new ArgumentException("A SPIFFE ID is required.", nameof(id));
        }

        DateTimeOffset now = _timeProvider.GetUtcNow();
        string uri = id.ToString();
        string commonName = id.Path.Length == 0 ? id.TrustDomain.Name : id.Path[(id.Path.LastIndexOf('/') + 1)..];
        IList<string> uris = [uri];
        X509KeyUsageFlags digitalSignature = X509KeyUsageFlags.DigitalSignature;
        SvidSpec spec = defect switch
        {
            SvidDefect.Expired => new() { UriSans = uris, CommonName = commonName, NotBefore = now - TimeSpan.FromHours(2), NotAfter = now - TimeSpan.FromHours(1) },
            SvidDefect.NotYetValid => new() { UriSans = uris, CommonName = commonName, NotBefore = now + TimeSpan.FromHours(1), NotAfter = now + TimeSpan.FromHours(2) },
            SvidDefect.CertificateAuthorityAsLeaf => new() { UriSans = uris, CommonName = commonName, IsCertificateAuthority = true },
            SvidDefect.TwoUriSans => new() { UriSans = [uri, uri + "-second"], CommonName = commonName },
            SvidDefect.NoUriSan => new() { UriSans = [], DnsSans = [commonName + "." + id.TrustDomain.Name], CommonName = commonName },
            SvidDefect.NoKeyUsage => new() { UriSans = uris, CommonName = commonName, KeyUsage = null },
            SvidDefect.KeyCertSignUsage => new() { UriSans = uris, CommonName = commonName, KeyUsage = digitalSignature | X509KeyUsageFlags.KeyCertSign },
            SvidDefect.CrlSignUsage => new() { UriSans = uris, CommonName = commonName, KeyUsage = digitalSignature | X509KeyUsageFlags.CrlSign },
            SvidDefect.ServerAuthOnly => new() { UriSans = uris, CommonName = commonName, ExtendedKeyUsageOids = [SvidSpec.ServerAuthOid] },
            SvidDefect.ClientAuthOnly => new() { UriSans = uris, CommonName = commonName, ExtendedKeyUsageOids = [SvidSpec.ClientAuthOid] },
            SvidDefect.TrustDomainIdAsWorkload => new() { UriSans = [id.TrustDomain.Id.ToString()], CommonName = commonName },
            SvidDefect.NotASpiffeUri => new() { UriSans = ["https://" + id.TrustDomain.Name + id.Path], CommonName = commonName },
            _ => throw new ArgumentOutOfRangeException(nameof(defect), defect, "Unknown defect."),
        };

        return IssueCertificate(spec);
    }

    private static byte[] EncodeSubjectAltNames(SvidSpec spec)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (string uri in spec.UriSans)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, uri, new Asn1Tag(TagClass.ContextSpecific, 6));
            }

            foreach (string dns in spec.DnsSans)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, dns, new Asn1Tag(TagClass.ContextSpecific, 2));
            }
        }

        return writer.Encode();
    }
}
