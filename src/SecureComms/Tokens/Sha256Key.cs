using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace SecureComms;

/// <summary>
/// The SHA-256 of a string's UTF-8 bytes as a value: a dictionary key for tokens and user contexts that needs no
/// allocation to compute and never keeps the text itself.
/// </summary>
internal readonly record struct Sha256Key(ulong A, ulong B, ulong C, ulong D)
{
    private const int StackLimit = 2048;

    public static Sha256Key Of(ReadOnlySpan<char> text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = max > StackLimit ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> buffer = rented ?? stackalloc byte[StackLimit];
        try
        {
            int length = Encoding.UTF8.GetBytes(text, buffer);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer[..length], hash);
            return new Sha256Key(
                BinaryPrimitives.ReadUInt64LittleEndian(hash),
                BinaryPrimitives.ReadUInt64LittleEndian(hash[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(hash[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(hash[24..]));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
