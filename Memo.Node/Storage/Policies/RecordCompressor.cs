using System.IO.Compression;
using ZstdSharp;

namespace Memo.Node.Storage.Policies;

/// <summary>
/// Compresses one stored record at a time, and says when compressing is not worth it: a record that would not shrink by
/// at least <see cref="MinSavingFraction"/> (random bytes, signatures, already-compressed media) or is shorter than
/// <see cref="MinInputBytes"/> is stored raw, so its reads cost no decompression. Pure apart from per-thread codec state.
/// </summary>
/// <remarks>
/// Levels are the fastest ones (zstd 1, Brotli quality 1): a record is compressed on the write path of a Raft replica
/// and decompressed on every read; docs/performance.md has the measurements behind the choice.
/// </remarks>
public static class RecordCompressor
{
    /// <summary>Records shorter than this are never compressed: the frame and the codec's own header eat the saving.</summary>
    public const int MinInputBytes = 64;

    /// <summary>The smallest saving (a fraction of the input) for which a record is stored compressed.</summary>
    public const double MinSavingFraction = 1.0 / 16;

    /// <summary>The zstd level used; 1 is zstd's fastest standard level.</summary>
    public const int ZstdLevel = 1;

    /// <summary>The Brotli quality used; 1 is the fastest that still finds repeats across the record.</summary>
    public const int BrotliQuality = 1;

    // Compressor and Decompressor hold native-like state and are not thread-safe; silos are called from many threads.
    [ThreadStatic] private static Compressor? t_zstdCompressor;
    [ThreadStatic] private static Decompressor? t_zstdDecompressor;

    /// <summary>
    /// <paramref name="input"/> compressed with <paramref name="codec"/>, or null when it should be stored raw (too short,
    /// or it would not shrink by <see cref="MinSavingFraction"/>).
    /// </summary>
    public static byte[]? TryCompress(ValueCompression codec, ReadOnlySpan<byte> input)
    {
        if (codec == ValueCompression.Off || input.Length < MinInputBytes)
        {
            return null;
        }
        var limit = input.Length - Math.Max(1, (int)(input.Length * MinSavingFraction));
        // Compress into a buffer as large as the codec's bound, then keep it only below the limit.
        byte[] buffer;
        int written;
        switch (codec)
        {
            case ValueCompression.Zstd:
                buffer = new byte[Compressor.GetCompressBound(input.Length)];
                t_zstdCompressor ??= new Compressor(ZstdLevel);
                written = t_zstdCompressor.Wrap(input, buffer);
                break;
            case ValueCompression.Brotli:
                buffer = new byte[BrotliEncoder.GetMaxCompressedLength(input.Length)];
                if (!BrotliEncoder.TryCompress(input, buffer, out written, BrotliQuality, 22))
                {
                    return null;
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(codec), codec, "unknown compression");
        }
        return written <= limit ? buffer.AsSpan(0, written).ToArray() : null;
    }

    /// <summary>
    /// Decompresses <paramref name="compressed"/> into exactly <paramref name="originalLength"/> bytes; throws
    /// <see cref="InvalidDataException"/> when the bytes do not decode to that length (a damaged record).
    /// </summary>
    public static byte[] Decompress(ValueCompression codec, ReadOnlySpan<byte> compressed, int originalLength)
    {
        var output = new byte[originalLength];
        int written;
        switch (codec)
        {
            case ValueCompression.Zstd:
                t_zstdDecompressor ??= new Decompressor();
                try
                {
                    written = t_zstdDecompressor.Unwrap(compressed, output);
                }
                catch (ZstdException e)
                {
                    throw new InvalidDataException($"A stored zstd record does not decode: {e.Message}", e);
                }
                break;
            case ValueCompression.Brotli:
                if (!BrotliDecoder.TryDecompress(compressed, output, out written))
                {
                    throw new InvalidDataException("A stored Brotli record does not decode.");
                }
                break;
            default:
                throw new InvalidDataException($"A stored record names compression {(int)codec}, which this node does not know.");
        }
        if (written != originalLength)
        {
            throw new InvalidDataException($"A stored record decoded to {written} bytes, its frame says {originalLength}.");
        }
        return output;
    }
}
