using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>
/// The PEM file of internal CA certificates that an authorization server's certificate must chain to when it is
/// neither an SVID nor trusted by the system (<c>Token:ServerCaBundlePath</c>, <c>TokenValidation:ServerCaBundlePath</c>).
/// </summary>
internal static class ServerCaBundle
{
    /// <summary>Reads the certificates of <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is missing, unreadable, or holds no PEM certificate; the message names <paramref name="key"/>.</exception>
    internal static X509Certificate2Collection Load(string key, string path)
    {
        if (TryLoad(path, out X509Certificate2Collection? certificates, out string? error))
        {
            return certificates;
        }

        throw new InvalidDataException($"{key}: {error}");
    }

    /// <summary>Reads the certificates of <paramref name="path"/>, or says why it cannot.</summary>
    internal static bool TryLoad(string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out X509Certificate2Collection? certificates, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        certificates = null;
        if (!File.Exists(path))
        {
            error = $"the file '{path}' does not exist (as seen from '{Directory.GetCurrentDirectory()}').";
            return false;
        }

        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            error = $"the file '{path}' is not a PEM bundle of CA certificates: {ex.Message}";
            return false;
        }

        if (collection.Count == 0)
        {
            error = $"the file '{path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).";
            return false;
        }

        certificates = collection;
        error = null;
        return true;
    }
}
