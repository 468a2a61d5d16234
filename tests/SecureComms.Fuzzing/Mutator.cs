using System.Text;

namespace SecureComms.Fuzzing;

/// <summary>
/// Mutates seeds the way coverage-blind fuzzers do (AFL's havoc stage): bit flips, byte insert/delete/duplicate,
/// interesting values, splices between seeds, the target's own tokens and UTF-8 edge cases, 1–6 of them stacked.
/// Deterministic for a given <see cref="Random"/> seed.
/// </summary>
internal sealed class Mutator(Random random, IReadOnlyList<byte[]> seeds, IReadOnlyList<byte[]> tokens, int maxLength)
{
    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'%', (byte)':', (byte)',', (byte)';', (byte)'"', (byte)'\\', (byte)'/', (byte)'.', (byte)'=', (byte)' ', (byte)'\t', (byte)'\r', (byte)'\n', (byte)'*', (byte)'{', (byte)'}', (byte)'@', (byte)'-', (byte)'+'];

    /// <summary>UTF-8 edge cases: overlong, lone surrogate (CESU), BOM, non-characters, 4-byte, invalid lead, truncated.</summary>
    private static readonly byte[][] Utf8EdgeCases =
    [
        [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xEF, 0xBB, 0xBF], [0xEF, 0xBF, 0xBF], [0xF0, 0x9F, 0x98, 0x80],
        [0xF5, 0x80], [0xE2, 0x82], [0xC3, 0xA9], [0xE2, 0x80, 0xAE], [0xC2, 0xA0], [0xE2, 0x80, 0x8B], [0xEF, 0xBC, 0x8F],
        [0x25, 0x30, 0x30], [0x25, 0x32, 0x66], [0x25, 0x35, 0x43], [0x25, 0x43, 0x30, 0x25, 0x41, 0x46],
    ];

    public byte[] Next()
    {
        var data = new List<byte>(seeds[random.Next(seeds.Count)]);
        int rounds = 1 + random.Next(6);
        for (int i = 0; i < rounds; i++)
        {
            Mutate(data);
        }

        if (data.Count > maxLength)
        {
            data.RemoveRange(maxLength, data.Count - maxLength);
        }

        return [.. data];
    }

    private void Mutate(List<byte> data)
    {
        int at = data.Count == 0 ? 0 : random.Next(data.Count);
        switch (random.Next(11))
        {
            case 0 when data.Count > 0:
                data[at] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[at] = (byte)random.Next(256);
                break;
            case 2:
                data.Insert(at, (byte)random.Next(256));
                break;
            case 3 when data.Count > 0:
                data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(16)));
                break;
            case 4 when data.Count > 0:
                {
                    int length = Math.Min(data.Count - at, 1 + random.Next(64));
                    data.InsertRange(random.Next(data.Count + 1), data.GetRange(at, length));
                    break;
                }

            case 5 when data.Count > 0:
                data[at] = InterestingBytes[random.Next(InterestingBytes.Length)];
                break;
            case 6:
                data.Insert(at, InterestingBytes[random.Next(InterestingBytes.Length)]);
                break;
            case 7:
                {
                    // Splice: this input up to a point, another seed from a point.
                    byte[] other = seeds[random.Next(seeds.Count)];
                    int from = other.Length == 0 ? 0 : random.Next(other.Length);
                    data.RemoveRange(at, data.Count - at);
                    data.AddRange(other.AsSpan(from).ToArray());
                    break;
                }

            case 8 when tokens.Count > 0:
                data.InsertRange(at, tokens[random.Next(tokens.Count)]);
                break;
            case 9:
                data.InsertRange(at, Utf8EdgeCases[random.Next(Utf8EdgeCases.Length)]);
                break;
            default:
                if (data.Count > 0)
                {
                    // Truncate: the half-written file, the cut-off header.
                    data.RemoveRange(at, data.Count - at);
                }

                break;
        }
    }

    /// <summary>
    /// Decodes UTF-8 for string parsers, except that the CESU-8 form of a lone high surrogate (ED A0 80) becomes
    /// U+D800 itself: .NET strings can hold one (a header or JSON escape can produce it) though UTF-8 cannot.
    /// </summary>
    public static string Decode(byte[] input)
    {
        ReadOnlySpan<byte> rest = input;
        ReadOnlySpan<byte> surrogate = [0xED, 0xA0, 0x80];
        int index = rest.IndexOf(surrogate);
        if (index < 0)
        {
            return Encoding.UTF8.GetString(rest);
        }

        var text = new StringBuilder(input.Length);
        while (index >= 0)
        {
            text.Append(Encoding.UTF8.GetString(rest[..index])).Append('\uD800');
            rest = rest[(index + surrogate.Length)..];
            index = rest.IndexOf(surrogate);
        }

        return text.Append(Encoding.UTF8.GetString(rest)).ToString();
    }
}
