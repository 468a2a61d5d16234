using System.Security.Cryptography;

namespace SecureComms.Testing;

/// <content>Trust bundle files: the root written as PEM or as a SPIFFE bundle, and a bundle file read as a service reads it.</content>
public sealed partial class DevelopmentCertificateAuthority
{
    /// <summary>
    /// Writes the root certificate as PEM to <paramref name="path"/>, atomically (temporary file, then rename).
    /// </summary>
    public void WriteTrustBundlePem(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        AtomicFile.WriteAscii(path, PemEncoding.WriteString("CERTIFICATE", _root.RawData) + "\n", ownerOnly: false);
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
        AtomicFile.WriteAscii(path, SpiffeBundleWriter.ToJson(CreateTrustBundle(), refreshHint: refreshHint) + "\n", ownerOnly: false);
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
}
