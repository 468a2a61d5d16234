using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>
/// Reads a workload SVID from PEM files, a PKCS#12 file or the X.509 store. Every failure is a
/// <see cref="CertificateSourceException"/> whose message names the file and the problem, never key material.
/// Each call returns fresh instances.
/// </summary>
internal static class CertificateLoaders
{
    private const string EcPublicKeyOid = "1.2.840.10045.2.1";  // RFC 5480 §2.1.1 id-ecPublicKey
    private const string RsaEncryptionOid = "1.2.840.113549.1.1.1"; // RFC 8017 rsaEncryption

    /// <summary>
    /// Reads the leaf (first <c>CERTIFICATE</c> block) and its intermediates (the following blocks; self-signed roots
    /// are left out) from <paramref name="certificatePath"/>, and its private key from <paramref name="keyPath"/>:
    /// PKCS#8 (<c>PRIVATE KEY</c>), encrypted PKCS#8 (<c>ENCRYPTED PRIVATE KEY</c>, needs
    /// <paramref name="keyPassword"/>), SEC1 (<c>EC PRIVATE KEY</c>) or PKCS#1 (<c>RSA PRIVATE KEY</c>). A password
    /// given for an unencrypted key is ignored.
    /// </summary>
    internal static WorkloadCertificate LoadPem(string certificatePath, string keyPath, string? keyPassword)
    {
        string certificatePem = ReadText(certificatePath, "certificate file");
        if (!PemReader.TryReadCertificates(certificatePem, out X509Certificate2Collection chain, out string? error))
        {
            throw new CertificateSourceException($"the certificate file '{certificatePath}' {error}.");
        }

        if (chain.Count == 0)
        {
            throw new CertificateSourceException($"the certificate file '{certificatePath}' holds no PEM CERTIFICATE block.");
        }

        X509Certificate2 leaf = chain[0];
        X509Certificate2 withKey;
        try
        {
            withKey = AttachPrivateKey(leaf, certificatePath, ReadText(keyPath, "private key file"), keyPath, keyPassword);
        }
        catch
        {
            DisposeAll(chain);
            throw;
        }

        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < chain.Count; i++)
        {
            if (IsSelfSigned(chain[i]))
            {
                chain[i].Dispose(); // a root: the peer's trust bundle supplies it
            }
            else
            {
                intermediates.Add(chain[i]);
            }
        }

        leaf.Dispose();
        return Wrap(withKey, intermediates, $"'{certificatePath}'");
    }

    /// <summary>
    /// Reads a PKCS#12 (.p12/.pfx) file: the leaf is the certificate with a private key, the others are intermediates
    /// (self-signed roots are left out).
    /// </summary>
    internal static WorkloadCertificate LoadPkcs12(string path, string? password)
    {
        X509Certificate2Collection all;
        try
        {
            // Default key storage (not EphemeralKeySet): SslStream on Windows cannot use ephemeral keys, and macOS
            // does not support them at all.
            all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, password, X509KeyStorageFlags.DefaultKeySet);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new CertificateSourceException($"cannot read the PKCS#12 file '{path}': {Describe(ex)}", ex);
        }

        X509Certificate2? leaf = null;
        var intermediates = new X509Certificate2Collection();
        foreach (X509Certificate2 certificate in all)
        {
            if (certificate.HasPrivateKey && leaf is null)
            {
                leaf = certificate;
            }
            else if (IsSelfSigned(certificate))
            {
                certificate.Dispose(); // a root: the peer's trust bundle supplies it
            }
            else
            {
                intermediates.Add(certificate);
            }
        }

        if (leaf is null)
        {
            DisposeAll(intermediates);
            throw new CertificateSourceException($"the PKCS#12 file '{path}' holds no certificate with a private key.");
        }

        return Wrap(leaf, intermediates, $"'{path}'");
    }

    /// <summary>
    /// Finds the certificate with the SHA-1 <paramref name="thumbprint"/> (the index the OS stores use; spaces, colons
    /// and the invisible marks that certificate dialogs copy along are ignored). Intermediates are not read: the
    /// platform finds them in its own stores when it builds the chain to send.
    /// </summary>
    internal static WorkloadCertificate LoadFromStore(StoreName storeName, StoreLocation storeLocation, string thumbprint)
    {
        string wanted = NormalizeThumbprint(thumbprint);
        string where = $"the store {storeLocation}/{storeName}";
        if (wanted.Length != 40 || !wanted.All(char.IsAsciiHexDigit))
        {
            throw new CertificateSourceException($"'{thumbprint}' is not a SHA-1 certificate thumbprint (40 hexadecimal digits) for {where}.");
        }

        using var store = new X509Store(storeName, storeLocation);
        try
        {
            store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
        }
        catch (CryptographicException ex)
        {
            throw new CertificateSourceException($"cannot open {where}: {Describe(ex)}", ex);
        }

        X509Certificate2? leaf = null;
        X509Certificate2Collection all = store.Certificates; // fresh instances on every access
        foreach (X509Certificate2 certificate in all)
        {
            if (leaf is null && string.Equals(certificate.Thumbprint, wanted, StringComparison.OrdinalIgnoreCase))
            {
                leaf = certificate;
            }
            else
            {
                certificate.Dispose();
            }
        }

        if (leaf is null)
        {
            throw new CertificateSourceException($"no certificate with thumbprint {wanted} in {where}.");
        }

        if (!leaf.HasPrivateKey)
        {
            leaf.Dispose();
            throw new CertificateSourceException($"the certificate {wanted} in {where} has no private key.");
        }

        return Wrap(leaf, null, where);
    }

    internal static string NormalizeThumbprint(string thumbprint) =>
        string.Concat(thumbprint.Where(c => !char.IsWhiteSpace(c) && c is not (':' or '\u200E' or '\u200F' or '\uFEFF'))).ToUpperInvariant();

    /// <summary>
    /// Pairs the leaf with the key block <see cref="PemReader"/> found (a complete block, so a key file caught
    /// half-written is already refused) through <see cref="X509Certificate2.CreateFromPem(ReadOnlySpan{char}, ReadOnlySpan{char})"/>
    /// or <see cref="X509Certificate2.CreateFromEncryptedPem"/>, which import the key for the certificate's algorithm and
    /// refuse a key that is not the certificate's (the check of <c>CopyWithPrivateKey</c>). A
    /// refusal is then explained: another algorithm, another key of the same algorithm, or an unreadable key.
    /// </summary>
    private static X509Certificate2 AttachPrivateKey(X509Certificate2 leaf, string certificatePath, string keyPem, string keyPath, string? password)
    {
        if (!PemReader.TryFindPrivateKey(keyPem, out Range block, out bool encrypted, out string? error))
        {
            throw new CertificateSourceException($"the private key file '{keyPath}' {error}.");
        }

        if (encrypted && password is null)
        {
            throw new CertificateSourceException($"the private key in '{keyPath}' is encrypted but no key password is configured.");
        }

        string algorithm = leaf.GetKeyAlgorithm();
        bool leafIsEc = algorithm == EcPublicKeyOid;
        if (!leafIsEc && algorithm != RsaEncryptionOid)
        {
            throw new CertificateSourceException($"the certificate in '{certificatePath}' has an unsupported key algorithm ({algorithm}); use ECDSA or RSA.");
        }

        ReadOnlySpan<char> pem = keyPem.AsSpan()[block];
        string leafPem = leaf.ExportCertificatePem();
        X509Certificate2 paired;
        try
        {
            paired = encrypted
                ? X509Certificate2.CreateFromEncryptedPem(leafPem, pem, password)
                : X509Certificate2.CreateFromPem(leafPem, pem);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw ExplainRefusedKey(certificatePath, keyPath, leafIsEc, pem, encrypted, password, ex);
        }

        using (paired)
        {
            // Re-import through PKCS#12 so the key is usable by SslStream on every platform (Windows rejects the
            // ephemeral keys CreateFromPem produces). The bytes stay in memory and are wiped.
            byte[] pkcs12 = paired.Export(X509ContentType.Pkcs12);
            try
            {
                return X509CertificateLoader.LoadPkcs12(pkcs12, null);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pkcs12);
            }
        }
    }

    /// <summary>Why CreateFromPem refused the pair, in words that name both files; only runs on the failure path.</summary>
    private static CertificateSourceException ExplainRefusedKey(
        string certificatePath, string keyPath, bool leafIsEc, ReadOnlySpan<char> pem, bool encrypted, string? password, Exception refusal)
    {
        using AsymmetricAlgorithm? sameAlgorithm = TryImport(leafIsEc ? ECDsa.Create() : RSA.Create(), pem, encrypted, password, out Exception? importError);
        if (sameAlgorithm is not null)
        {
            // The key reads as the certificate's algorithm, so CreateFromPem refused it as another key.
            return new CertificateSourceException($"the certificate in '{certificatePath}' does not match the private key in '{keyPath}'.", refusal);
        }

        using AsymmetricAlgorithm? other = TryImport(leafIsEc ? RSA.Create() : ECDsa.Create(), pem, encrypted, password, out _);
        if (other is not null)
        {
            return new CertificateSourceException(
                $"the certificate in '{certificatePath}' does not match the private key in '{keyPath}' (the certificate has an {(leafIsEc ? "EC" : "RSA")} key, the key file an {(leafIsEc ? "RSA" : "EC")} key).",
                refusal);
        }

        string hint = encrypted ? " (is the key password right?)" : string.Empty;
        return new CertificateSourceException($"cannot read the private key in '{keyPath}'{hint}: {importError!.Message}", importError);
    }

    private static AsymmetricAlgorithm? TryImport(AsymmetricAlgorithm key, ReadOnlySpan<char> pem, bool encrypted, string? password, out Exception? error)
    {
        try
        {
            if (encrypted)
            {
                key.ImportFromEncryptedPem(pem, password);
            }
            else
            {
                key.ImportFromPem(pem);
            }

            error = null;
            return key;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            key.Dispose();
            error = ex;
            return null;
        }
    }

    private static string ReadText(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CertificateSourceException($"cannot read the {what} '{path}': {Describe(ex)}", ex);
        }
    }

    private static bool IsSelfSigned(X509Certificate2 certificate) =>
        certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);

    private static WorkloadCertificate Wrap(X509Certificate2 leaf, X509Certificate2Collection? intermediates, string where)
    {
        try
        {
            return new WorkloadCertificate(leaf, intermediates);
        }
        catch (ArgumentException ex)
        {
            leaf.Dispose();
            if (intermediates is not null)
            {
                DisposeAll(intermediates);
            }

            throw new CertificateSourceException($"the certificate in {where} is not a usable X.509-SVID: {ex.Message}", ex);
        }
    }

    private static void DisposeAll(X509Certificate2Collection certificates)
    {
        foreach (X509Certificate2 certificate in certificates)
        {
            certificate.Dispose();
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "file not found.",
        UnauthorizedAccessException => "permission denied.",
        _ => ex.Message,
    };
}
