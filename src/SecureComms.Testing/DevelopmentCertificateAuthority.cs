using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

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
public sealed partial class DevelopmentCertificateAuthority : IDisposable
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

    private static byte[] NewSerialNumber()
    {
        // 128 random bits, positive, never zero (RFC 5280 §4.1.2.2).
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }
}
