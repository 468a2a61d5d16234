using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SecureComms.Testing;

/// <content>PEM files: workload certificates and keys written for a service to load, and the authority saved and loaded back.</content>
public sealed partial class DevelopmentCertificateAuthority
{
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
    /// Reads a workload certificate back from the PEM files <see cref="WriteCertificatePem(WorkloadCertificate, string, string)"/>
    /// writes (or any in that layout): the first certificate of <paramref name="certificatePath"/> with the private key of
    /// <paramref name="keyPath"/>, and the certificates after it as intermediates, leaving out self-signed roots (the peer's
    /// trust bundle supplies those).
    /// </summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The files hold no certificate, or the key does not match it.</exception>
    public static WorkloadCertificate ReadCertificatePem(string certificatePath, string keyPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        ArgumentException.ThrowIfNullOrEmpty(keyPath);

        X509Certificate2 leaf = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(certificatePath);
        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < all.Count; i++)
        {
            if (all[i].SubjectName.RawData.AsSpan().SequenceEqual(all[i].IssuerName.RawData))
            {
                all[i].Dispose();
            }
            else
            {
                intermediates.Add(all[i]);
            }
        }

        all[0].Dispose();
        return new WorkloadCertificate(leaf, intermediates);
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
        WritePrivateKeyPem(keyPath, pkcs8);

        var certificates = new StringBuilder();
        certificates.Append(PemEncoding.Write("CERTIFICATE", certificate.RawData)).Append('\n');
        if (chain is not null)
        {
            foreach (X509Certificate2 intermediate in chain)
            {
                certificates.Append(PemEncoding.Write("CERTIFICATE", intermediate.RawData)).Append('\n');
            }
        }

        AtomicFile.WriteAscii(certificatePath, certificates.ToString(), ownerOnly: false);
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

        WritePrivateKeyPem(keyPath, pkcs8);

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

        AtomicFile.WriteAscii(certificatePath, certificates.ToString(), ownerOnly: false);
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

    /// <summary>
    /// Writes <paramref name="pkcs8"/> as an unencrypted <c>PRIVATE KEY</c> PEM file, owner-only from the start and
    /// atomically, then wipes the key bytes and their PEM text from memory.
    /// </summary>
    private static void WritePrivateKeyPem(string keyPath, byte[] pkcs8)
    {
        char[] keyPem = [];
        try
        {
            keyPem = PemEncoding.Write("PRIVATE KEY", pkcs8);
            AtomicFile.WriteAscii(keyPath, keyPem, ownerOnly: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            Array.Clear(keyPem);
        }
    }
}
