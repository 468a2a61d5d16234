using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>Reads a workload SVID from PEM files, a PKCS#12 file or the X.509 store, with errors that name the file.</summary>
internal static class CertificateLoaders
{
    internal static WorkloadCertificate LoadPem(string certificatePath, string keyPath, string? keyPassword)
    {
        X509Certificate2Collection all;
        X509Certificate2 leaf;
        try
        {
            all = [];
            all.ImportFromPemFile(certificatePath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new CertificateSourceException($"cannot read the certificate file '{certificatePath}': {Describe(ex)}", ex);
        }

        if (all.Count == 0)
        {
            throw new CertificateSourceException($"the certificate file '{certificatePath}' holds no PEM CERTIFICATE block.");
        }

        if (!File.Exists(keyPath))
        {
            throw new CertificateSourceException($"cannot read the private key file '{keyPath}': file not found.");
        }

        try
        {
            using X509Certificate2 withKey = keyPassword is null
                ? X509Certificate2.CreateFromPemFile(certificatePath, keyPath)
                : X509Certificate2.CreateFromEncryptedPemFile(certificatePath, keyPassword, keyPath);

            // Re-import through PKCS#12 so the key is usable by SslStream on every platform.
            leaf = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new CertificateSourceException(
                $"the certificate in '{certificatePath}' and the private key in '{keyPath}' cannot be used together: {Describe(ex)}", ex);
        }

        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < all.Count; i++)
        {
            intermediates.Add(all[i]);
        }

        return Wrap(leaf, intermediates, $"'{certificatePath}'");
    }

    internal static WorkloadCertificate LoadPkcs12(string path, string? password)
    {
        X509Certificate2Collection all;
        try
        {
            all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);
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
            else if (!certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
            {
                intermediates.Add(certificate); // roots are left out: the peer's bundle supplies them
            }
        }

        if (leaf is null)
        {
            throw new CertificateSourceException($"the PKCS#12 file '{path}' holds no certificate with a private key.");
        }

        return Wrap(leaf, intermediates, $"'{path}'");
    }

    internal static WorkloadCertificate LoadFromStore(StoreName storeName, StoreLocation storeLocation, string thumbprint)
    {
        using var store = new X509Store(storeName, storeLocation);
        try
        {
            store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
        }
        catch (CryptographicException ex)
        {
            throw new CertificateSourceException($"cannot open the certificate store {storeLocation}/{storeName}: {Describe(ex)}", ex);
        }

        X509Certificate2Collection found = store.Certificates.Find(X509FindType.FindByThumbprint, thumbprint, validOnly: false);
        if (found.Count == 0)
        {
            throw new CertificateSourceException($"no certificate with thumbprint {thumbprint} in the store {storeLocation}/{storeName}.");
        }

        X509Certificate2 leaf = found[0];
        if (!leaf.HasPrivateKey)
        {
            throw new CertificateSourceException($"the certificate {thumbprint} in the store {storeLocation}/{storeName} has no private key.");
        }

        return Wrap(leaf, null, $"store {storeLocation}/{storeName}");
    }

    private static WorkloadCertificate Wrap(X509Certificate2 leaf, X509Certificate2Collection? intermediates, string where)
    {
        try
        {
            return new WorkloadCertificate(leaf, intermediates);
        }
        catch (ArgumentException ex)
        {
            throw new CertificateSourceException($"the certificate in {where} is not a usable X.509-SVID: {ex.Message}", ex);
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "file not found.",
        UnauthorizedAccessException => "permission denied.",
        _ => ex.Message,
    };
}
