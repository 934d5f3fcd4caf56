using System.Buffers;
using System.Text;

namespace Memo.Protocol.Grpc;

/// <summary>
/// The percent-encoding of <c>grpc-message</c>: the message is UTF-8, and every byte outside printable ASCII
/// (0x20–0x7E) and every <c>%</c> is sent as <c>%XX</c> (upper-case hex). Decoding is lenient: a <c>%</c> not
/// followed by two hex digits is kept as is, and invalid UTF-8 becomes U+FFFD, as the spec asks.
/// </summary>
public static class GrpcPercentEncoding
{
    private const int StackLimit = 512;

    /// <summary>Encodes a status message; returns the same instance when nothing needs escaping (the common case).</summary>
    public static string Encode(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        int i = 0;
        while (i < message.Length && IsUnreserved(message[i]))
        {
            i++;
        }
        if (i == message.Length)
        {
            return message;
        }

        int maxBytes = Encoding.UTF8.GetMaxByteCount(message.Length);
        byte[]? rented = null;
        Span<byte> utf8 = maxBytes <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            int byteCount = Encoding.UTF8.GetBytes(message, utf8);
            var sb = new StringBuilder(byteCount + 16);
            foreach (byte b in utf8[..byteCount])
            {
                if (IsUnreserved((char)b))
                {
                    sb.Append((char)b);
                }
                else
                {
                    sb.Append('%').Append(HexDigit(b >> 4)).Append(HexDigit(b & 0xF));
                }
            }
            return sb.ToString();
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Decodes a received <c>grpc-message</c>; returns the same instance when it holds no <c>%</c>.</summary>
    public static string Decode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.Contains('%'))
        {
            return value;
        }
        byte[]? rented = null;
        // Each char yields at most one byte, except chars beyond Latin-1 (not valid in a header) that are re-encoded.
        int maxBytes = Encoding.UTF8.GetMaxByteCount(value.Length);
        Span<byte> bytes = maxBytes <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            int n = 0;
            for (int i = 0; i < value.Length; i++)
            {
                char c = value[i];
                if (c == '%' && i + 2 < value.Length && TryHex(value[i + 1], out int hi) && TryHex(value[i + 2], out int lo))
                {
                    bytes[n++] = (byte)((hi << 4) | lo);
                    i += 2;
                }
                else if (c < 0x80)
                {
                    bytes[n++] = (byte)c;
                }
                else
                {
                    n += Encoding.UTF8.GetBytes(value.AsSpan(i, char.IsHighSurrogate(c) && i + 1 < value.Length ? 2 : 1), bytes[n..]);
                    if (char.IsHighSurrogate(c) && i + 1 < value.Length)
                    {
                        i++;
                    }
                }
            }
            return Encoding.UTF8.GetString(bytes[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool IsUnreserved(char c) => c is >= ' ' and <= '~' and not '%';

    private static char HexDigit(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'A' and <= 'F' => c - 'A' + 10,
            >= 'a' and <= 'f' => c - 'a' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
