using System.Security.Cryptography;
using System.Text;

namespace SecureComms.Testing;

/// <summary>Atomic file replacement for the files the development authority writes (keys, certificates, bundles).</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="content"/> (ASCII: PEM or JSON) to <paramref name="path"/> through a temporary file in the
    /// same directory, flushed to disk and renamed over the target, so a reader (a service watching the file) never sees
    /// half a file. With <paramref name="ownerOnly"/> the file is created 0600 on Unix from the start. The bytes written
    /// are wiped afterwards, since they may be a private key.
    /// </summary>
    public static void WriteAscii(string path, ReadOnlySpan<char> content, bool ownerOnly)
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
