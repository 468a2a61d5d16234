using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms.DevCert;

/// <summary>A certificate file as a service presents it: the leaf first, then its intermediates.</summary>
internal sealed class CertificateFile : IDisposable
{
    private CertificateFile(X509Certificate2 leaf, X509Certificate2Collection intermediates)
    {
        Leaf = leaf;
        Intermediates = intermediates;
    }

    public X509Certificate2 Leaf { get; }

    public X509Certificate2Collection Intermediates { get; }

    /// <summary>Reads every PEM <c>CERTIFICATE</c> block of the file, or a single DER certificate.</summary>
    /// <exception cref="InvalidDataException">The file holds no readable certificate.</exception>
    public static CertificateFile Read(string path)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException($"'{path}' holds a PEM block that is not a readable certificate.", ex);
        }

        if (certificates.Count == 0)
        {
            try
            {
                certificates.Add(X509CertificateLoader.LoadCertificateFromFile(path));
            }
            catch (CryptographicException ex)
            {
                throw new InvalidDataException($"'{path}' holds no PEM CERTIFICATE block and is not a DER certificate.", ex);
            }
        }

        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < certificates.Count; i++)
        {
            intermediates.Add(certificates[i]);
        }

        return new CertificateFile(certificates[0], intermediates);
    }

    public void Dispose()
    {
        Leaf.Dispose();
        foreach (X509Certificate2 intermediate in Intermediates)
        {
            intermediate.Dispose();
        }
    }
}
