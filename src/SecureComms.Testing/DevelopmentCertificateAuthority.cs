using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SecureComms.Testing;

/// <summary>
/// An in-memory certificate authority that mints SPIFFE X.509-SVIDs (and deliberately defective certificates) for
/// <b>development and tests only — never use it in production</b>. Its keys live in process memory, are never
/// protected, rotated or revoked, and its root is trusted by nothing but the bundles you hand out yourself.
/// Everything is built with <see cref="CertificateRequest"/> and ECDSA P-256 keys; there is no home-made cryptography.
/// </summary>
/// <remarks>
/// A root is created with <see cref="Create"/>; <see cref="CreateIntermediate"/> adds a signing CA beneath it whose
/// leaves come with <see cref="Chain"/> as their intermediates. Validity windows follow the <see cref="TimeProvider"/>
/// given to <see cref="Create"/>, so tests with a fake clock get certificates that match it. Instances are safe to use
/// from several threads.
/// </remarks>
public sealed class DevelopmentCertificateAuthority : IDisposable
{
    private const string DefaultRootCommonName = "SecureComms Development Root CA";
    private const string OrganizationName = "SecureComms Development (not for production)";
    private static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DefaultCaLifetime = TimeSpan.FromDays(1);
    private static readonly TimeSpan DefaultLeafLifetime = TimeSpan.FromHours(1);
    private static readonly Oid SubjectAlternativeNameOid = new("2.5.29.17", "Subject Alternative Name");

    private readonly ECDsa _key;
    private readonly X509Certificate2 _root;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _signLock = new();
    private bool _disposed;

    private DevelopmentCertificateAuthority(
        TrustDomain trustDomain,
        ECDsa key,
        X509Certificate2 certificate,
        X509Certificate2 root,
        X509Certificate2Collection chain,
        TimeProvider timeProvider)
    {
        TrustDomain = trustDomain;
        _key = key;
        Certificate = certificate;
        _root = root;
        Chain = chain;
        _timeProvider = timeProvider;
    }

    /// <summary>The trust domain this authority issues SVIDs for.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>This authority's own certificate (public part only; the private key leaves the instance only through <see cref="SavePem"/>).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>
    /// The intermediates between a leaf issued here and the root, nearest first; empty for a root authority.
    /// </summary>
    public X509Certificate2Collection Chain { get; }

    /// <summary>
    /// Creates a self-signed root authority: ECDSA P-256, basic constraints <c>cA=true</c> (critical, no path length),
    /// key usage <c>keyCertSign | cRLSign</c> (critical), URI SAN = the trust domain ID (X509-SVID §3.2).
    /// </summary>
    /// <param name="trustDomain">The trust domain of every SVID the authority issues.</param>
    /// <param name="timeProvider">The clock for validity windows; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="lifetime">How long the root stays valid from now; default one day. It starts five minutes ago.</param>
    /// <exception cref="ArgumentException">The trust domain is empty or the lifetime is not positive.</exception>
    public static DevelopmentCertificateAuthority Create(TrustDomain trustDomain, TimeProvider? timeProvider = null, TimeSpan? lifetime = null)
    {
        if (trustDomain.IsEmpty)
        {
            throw new ArgumentException("A development CA needs a trust domain.", nameof(trustDomain));
        }

        TimeSpan validFor = lifetime ?? DefaultCaLifetime;
        if (validFor <= TimeSpan.Zero)
        {
            throw new ArgumentException("The lifetime must be positive.", nameof(lifetime));
        }

        TimeProvider clock = timeProvider ?? TimeProvider.System;
        DateTimeOffset now = clock.GetUtcNow();
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            X500DistinguishedName subject = BuildCaName(DefaultRootCommonName);
            CertificateRequest request = CreateCaRequest(subject, key, trustDomain);
            byte[] serial = NewSerialNumber();
            using X509Certificate2 created = request.Create(
                subject, X509SignatureGenerator.CreateForECDsa(key), now - ClockSkewAllowance, now + validFor, serial);
            X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(created.RawData);
            X509Certificate2 root = X509CertificateLoader.LoadCertificate(created.RawData);
            return new DevelopmentCertificateAuthority(trustDomain, key, certificate, root, [], clock);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>A trust bundle holding this authority's <b>root</b> certificate (a fresh copy each call).</summary>
    public TrustBundle CreateTrustBundle()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new TrustBundle(TrustDomain, [X509CertificateLoader.LoadCertificate(_root.RawData)]);
    }

    /// <summary>
    /// Creates an intermediate signing authority signed by this one (ECDSA P-256, <c>cA=true</c>, no path length,
    /// <c>keyCertSign | cRLSign</c>, valid from five minutes ago until this authority expires). SVIDs it issues come
    /// with <see cref="Chain"/> = the intermediate followed by this authority's own chain. Dispose it separately.
    /// </summary>
    /// <param name="commonName">The subject common name of the intermediate.</param>
    public DevelopmentCertificateAuthority CreateIntermediate(string commonName = "SecureComms Development Intermediate CA")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        ObjectDisposedException.ThrowIf(_disposed, this);

        DateTimeOffset now = _timeProvider.GetUtcNow();
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            CertificateRequest request = CreateCaRequest(BuildCaName(commonName), key, TrustDomain);
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
            X509Certificate2 certificate = Sign(request, now - ClockSkewAllowance, new DateTimeOffset(Certificate.NotAfter.ToUniversalTime()));

            var chain = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(certificate.RawData) };
            foreach (X509Certificate2 parent in Chain)
            {
                chain.Add(X509CertificateLoader.LoadCertificate(parent.RawData));
            }

            X509Certificate2 root = X509CertificateLoader.LoadCertificate(_root.RawData);
            return new DevelopmentCertificateAuthority(TrustDomain, key, certificate, root, chain, _timeProvider);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

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

    /// <summary>
    /// Writes the root certificate as PEM to <paramref name="path"/>, atomically (temporary file, then rename).
    /// </summary>
    public void WriteTrustBundlePem(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        WriteAtomically(path, PemEncoding.WriteString("CERTIFICATE", _root.RawData) + "\n", ownerOnly: false);
    }

    /// <summary>
    /// Writes a workload certificate as PEM files: <paramref name="certificatePath"/> gets the leaf then its
    /// intermediates; <paramref name="keyPath"/> gets the PKCS#8 private key with owner-only permissions (0600 on Unix).
    /// Each file is written to a temporary file in the same directory and renamed over the target, so readers never see
    /// half a file. The key is written first, so a reader woken by the certificate change finds the matching key.
    /// </summary>
    public static void WriteCertificatePem(WorkloadCertificate certificate, string certificatePath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        WriteCertificatePem(certificate.Certificate, certificate.Intermediates, certificatePath, keyPath);
    }

    /// <summary>
    /// Writes a certificate with a private key (ECDSA or RSA) and optional intermediates as PEM files; see
    /// <see cref="WriteCertificatePem(WorkloadCertificate, string, string)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The certificate has no exportable ECDSA or RSA private key.</exception>
    public static void WriteCertificatePem(X509Certificate2 certificate, X509Certificate2Collection? chain, string certificatePath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        ArgumentException.ThrowIfNullOrEmpty(keyPath);

        byte[] pkcs8 = ExportPrivateKey(certificate);
        char[] keyPem = [];
        try
        {
            keyPem = PemEncoding.Write("PRIVATE KEY", pkcs8);
            WriteAtomically(keyPath, keyPem, ownerOnly: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            Array.Clear(keyPem);
        }

        var certificates = new StringBuilder();
        certificates.Append(PemEncoding.Write("CERTIFICATE", certificate.RawData)).Append('\n');
        if (chain is not null)
        {
            foreach (X509Certificate2 intermediate in chain)
            {
                certificates.Append(PemEncoding.Write("CERTIFICATE", intermediate.RawData)).Append('\n');
            }
        }

        WriteAtomically(certificatePath, certificates.ToString(), ownerOnly: false);
    }

    /// <summary>
    /// Saves this authority so that another process can load it back with <see cref="LoadPem"/>:
    /// <paramref name="certificatePath"/> gets this authority's certificate, then its intermediates, then the root
    /// (PEM); <paramref name="keyPath"/> gets its PKCS#8 private key, unencrypted, created owner-only (0600 on Unix)
    /// from the start. Each file is written atomically and <b>replaces</b> an existing one: callers that must not
    /// overwrite a key check first. Development only: anyone who can read the key file can mint trusted SVIDs.
    /// </summary>
    public void SavePem(string certificatePath, string keyPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        ArgumentException.ThrowIfNullOrEmpty(keyPath);
        ObjectDisposedException.ThrowIf(_disposed, this);

        byte[] pkcs8;
        lock (_signLock)
        {
            pkcs8 = _key.ExportPkcs8PrivateKey();
        }

        char[] keyPem = [];
        try
        {
            keyPem = PemEncoding.Write("PRIVATE KEY", pkcs8);
            WriteAtomically(keyPath, keyPem, ownerOnly: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            Array.Clear(keyPem);
        }

        // Chain (for an intermediate) starts with this authority's own certificate; a root has an empty chain.
        var certificates = new StringBuilder();
        X509Certificate2Collection path = Chain.Count > 0 ? Chain : [Certificate];
        foreach (X509Certificate2 certificate in path)
        {
            certificates.Append(PemEncoding.Write("CERTIFICATE", certificate.RawData)).Append('\n');
        }

        if (!_root.RawDataMemory.Span.SequenceEqual(Certificate.RawDataMemory.Span))
        {
            certificates.Append(PemEncoding.Write("CERTIFICATE", _root.RawData)).Append('\n');
        }

        WriteAtomically(certificatePath, certificates.ToString(), ownerOnly: false);
    }

    /// <summary>
    /// Loads an authority written by <see cref="SavePem"/>: the first certificate of <paramref name="certificatePath"/>
    /// is the authority (it must be a CA whose URI SAN is its trust domain ID, X509-SVID §3.2), the last one the root,
    /// the ones from the first up to the root its chain; <paramref name="keyPath"/> holds its unencrypted private key.
    /// </summary>
    /// <param name="certificatePath">PEM file with the authority's certificate, intermediates and root.</param>
    /// <param name="keyPath">PEM file with the authority's ECDSA private key (PKCS#8 or SEC1).</param>
    /// <param name="timeProvider">The clock for the validity of what it issues; default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="IOException">A file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">A file may not be read.</exception>
    /// <exception cref="InvalidDataException">The files do not hold a development authority and its matching key.</exception>
    public static DevelopmentCertificateAuthority LoadPem(string certificatePath, string keyPath, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        ArgumentException.ThrowIfNullOrEmpty(keyPath);

        if (!PemReader.TryReadCertificates(File.ReadAllText(certificatePath), out X509Certificate2Collection certificates, out string? error))
        {
            throw new InvalidDataException($"'{certificatePath}' {error}.");
        }

        ECDsa? key = null;
        try
        {
            if (certificates.Count == 0)
            {
                throw new InvalidDataException($"'{certificatePath}' holds no PEM CERTIFICATE block.");
            }

            X509Certificate2 certificate = certificates[0];
            TrustDomain trustDomain = ReadAuthorityTrustDomain(certificate, certificatePath);
            key = ReadPrivateKey(keyPath);
            using (ECDsa? publicKey = certificate.GetECDsaPublicKey())
            {
                if (publicKey is null || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
                {
                    throw new InvalidDataException($"the key in '{keyPath}' does not belong to the certificate in '{certificatePath}'.");
                }
            }

            var chain = new X509Certificate2Collection();
            for (int i = 0; i < certificates.Count - 1; i++)
            {
                chain.Add(X509CertificateLoader.LoadCertificate(certificates[i].RawData));
            }

            X509Certificate2 root = X509CertificateLoader.LoadCertificate(certificates[^1].RawData);
            X509Certificate2 own = X509CertificateLoader.LoadCertificate(certificate.RawData);
            var authority = new DevelopmentCertificateAuthority(trustDomain, key, own, root, chain, timeProvider ?? TimeProvider.System);
            key = null; // owned by the authority now
            return authority;
        }
        finally
        {
            key?.Dispose();
            foreach (X509Certificate2 certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }

    /// <summary>
    /// Writes the root certificate in the SPIFFE bundle format (SPIFFE Trust Domain and Bundle §4, X509-SVID §6.1):
    /// one <c>x509-svid</c> JWK with <c>kty</c>, the public key and the certificate in <c>x5c</c>, plus
    /// <c>spiffe_refresh_hint</c> when given. Written atomically (temporary file, then rename); replaces the file.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="refreshHint">How often consumers should re-read the bundle (whole seconds); none by default.</param>
    public void WriteTrustBundleSpiffe(string path, TimeSpan? refreshHint = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        WriteAtomically(path, SpiffeBundleWriter.ToJson(CreateTrustBundle(), refreshHint: refreshHint) + "\n", ownerOnly: false);
    }

    /// <summary>
    /// Reads a trust bundle file exactly as a SecureComms service reads <c>SecureComms:TrustBundles</c> (every
    /// certificate must be a CA; the SPIFFE format keeps only <c>x509-svid</c> keys), for development tools and tests.
    /// </summary>
    /// <param name="trustDomain">The trust domain the bundle speaks for (a bundle does not name its own).</param>
    /// <param name="path">The bundle file.</param>
    /// <param name="format">Its format.</param>
    /// <exception cref="InvalidDataException">The file cannot be read or is not a valid bundle; the message says why.</exception>
    public static TrustBundle LoadTrustBundle(TrustDomain trustDomain, string path, TrustBundleFormat format)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return TrustBundleLoader.Load(trustDomain, path, format);
        }
        catch (TrustBundleException ex)
        {
            throw new InvalidDataException(ex.Message, ex);
        }
    }

    /// <summary>
    /// Validates <paramref name="certificate"/> as an X.509-SVID with the same validator a SecureComms service runs
    /// in the TLS handshake (leaf rules, validity, path to the bundle of the certificate's own trust domain), so
    /// development tools and tests get the library's verdict and reasons rather than a re-implementation.
    /// </summary>
    /// <param name="certificate">The leaf; <see langword="null"/> is reported as no certificate.</param>
    /// <param name="intermediates">Intermediates presented with it; used to build the path, never trusted.</param>
    /// <param name="trustBundles">The trusted bundles.</param>
    /// <param name="side">Which side of a connection the certificate is presented on (decides the required EKU).</param>
    /// <param name="timeProvider">The clock; default <see cref="TimeProvider.System"/>.</param>
    public static SvidValidationResult ValidateSvid(
        X509Certificate2? certificate,
        X509Certificate2Collection? intermediates,
        ITrustBundleSource trustBundles,
        PeerSide side,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(trustBundles);
        return new PeerCertificateValidator(trustBundles, timeProvider ?? TimeProvider.System).Validate(certificate, intermediates, side);
    }

    /// <summary>Disposes the private key and the certificates this instance owns.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _key.Dispose();
        Certificate.Dispose();
        _root.Dispose();
        foreach (X509Certificate2 certificate in Chain)
        {
            certificate.Dispose();
        }
    }

    private X509Certificate2 Sign(CertificateRequest request, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        // ECDsa instances are not documented as thread-safe; one signature at a time.
        lock (_signLock)
        {
            return request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), notBefore, notAfter, NewSerialNumber());
        }
    }

    private X509Certificate2Collection CopyChain()
    {
        var copy = new X509Certificate2Collection();
        foreach (X509Certificate2 certificate in Chain)
        {
            copy.Add(X509CertificateLoader.LoadCertificate(certificate.RawData));
        }

        return copy;
    }

    private static X500DistinguishedName BuildCaName(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName(OrganizationName);
        builder.AddCommonName(commonName);
        return builder.Build();
    }

    private static CertificateRequest CreateCaRequest(X500DistinguishedName subject, ECDsa key, TrustDomain trustDomain)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

        // X509-SVID §3.2: a signing certificate SHOULD be an SVID whose SPIFFE ID is the trust domain ID.
        var spec = new SvidSpec { UriSans = [trustDomain.Id.ToString()] };
        request.CertificateExtensions.Add(new X509Extension(SubjectAlternativeNameOid, EncodeSubjectAltNames(spec), false));
        return request;
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

    private static byte[] NewSerialNumber()
    {
        // 128 random bits, positive, never zero (RFC 5280 §4.1.2.2).
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }

    private static TrustDomain ReadAuthorityTrustDomain(X509Certificate2 certificate, string certificatePath)
    {
        bool isAuthority = false;
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509BasicConstraintsExtension { CertificateAuthority: true })
            {
                isAuthority = true;
            }
        }

        List<string> uris = SvidInspector.GetUriSans(certificate);
        if (!isAuthority || uris.Count != 1 || !SpiffeId.TryParse(uris[0], out SpiffeId id) || !id.IsTrustDomainId)
        {
            throw new InvalidDataException(
                $"the first certificate in '{certificatePath}' is not a development CA (cA=true and one URI SAN naming its trust domain, X509-SVID §3.2).");
        }

        return id.TrustDomain;
    }

    private static ECDsa ReadPrivateKey(string keyPath)
    {
        byte[] bytes = File.ReadAllBytes(keyPath);
        char[] pem = Encoding.ASCII.GetChars(bytes);
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            return key;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new InvalidDataException($"'{keyPath}' does not hold an unencrypted ECDSA private key in PEM.", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
            Array.Clear(pem);
        }
    }

    private static byte[] ExportPrivateKey(X509Certificate2 certificate)
    {
        using ECDsa? ecdsa = certificate.GetECDsaPrivateKey();
        if (ecdsa is not null)
        {
            return ecdsa.ExportPkcs8PrivateKey();
        }

        using RSA? rsa = certificate.GetRSAPrivateKey();
        if (rsa is not null)
        {
            return rsa.ExportPkcs8PrivateKey();
        }

        throw new ArgumentException("The certificate has no ECDSA or RSA private key.", nameof(certificate));
    }

    private static void WriteAtomically(string path, ReadOnlySpan<char> content, bool ownerOnly)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath) ?? ".";
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (ownerOnly && !OperatingSystem.IsWindows())
        {
            // Created 0600 from the start: the key is never readable by others, not even briefly.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        byte[] bytes = new byte[Encoding.ASCII.GetByteCount(content)];
        Encoding.ASCII.GetBytes(content, bytes);
        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }
}
