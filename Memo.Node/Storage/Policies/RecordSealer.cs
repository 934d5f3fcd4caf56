using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Memo.Node.Storage.Policies;

/// <summary>
/// Turns a record's bytes into the frame the silo stores under the network's <see cref="DataPolicies"/> (compressed,
/// then encrypted) and back. Thread-safe.
/// </summary>
/// <remarks>
/// <para>Frame, version <see cref="FrameVersion"/>:</para>
/// <code>
/// [0]    frame version (1)
/// [1]    flags: bits 0-1 the compression (0 raw, 1 zstd, 2 brotli), bit 7 encrypted
/// [..4]  original length (u32 LE), only when compressed
/// [..4]  data key number (u32 LE), only when encrypted
/// [..12] nonce, only when encrypted: 4 random bytes drawn per sealer, then a 64-bit counter
/// body   the (compressed or raw) record; when encrypted its AES-256-GCM ciphertext followed by the 16-byte tag
/// </code>
/// <para>The associated data of the encryption is the header (everything before the nonce) followed by the record's
/// context (which table, which key or address or log position): a ciphertext copied onto another record, or a header
/// edited to claim another codec or length, fails authentication instead of decoding to the wrong value.</para>
/// <para>The decision to compress is per record: one that does not shrink enough is stored raw (flag 0), so readers
/// decode any mix, whatever the policy was when each record was written.</para>
/// </remarks>
public sealed class RecordSealer
{
    /// <summary>The frame version this node writes and reads.</summary>
    public const byte FrameVersion = 1;

    /// <summary>The largest record a frame may claim, decompressed; above it the frame is taken as damaged.</summary>
    public const int MaxRecordBytes = 1 << 30;

    private const byte EncryptedFlag = 0x80;
    private const byte CodecMask = 0x03;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly DataPolicies _policies;
    private readonly FrozenDictionary<uint, KeyPool> _keys;
    private readonly KeyPool? _current;
    private readonly uint _currentNumber;
    private readonly uint _noncePrefix;
    private long _nonceCounter;

    /// <summary>
    /// A sealer writing under <paramref name="policies"/>; <paramref name="keys"/> must hold a key when the policies
    /// encrypt, and its newest key encrypts new records (it must not have been used by another sealer: nonces are a
    /// counter).
    /// </summary>
    public RecordSealer(DataPolicies policies, DataKeyRing? keys)
    {
        ArgumentNullException.ThrowIfNull(policies);
        _policies = policies;
        _keys = (keys ?? DataKeyRing.Empty).Keys.ToFrozenDictionary(k => k.Key, k => new KeyPool(k.Value));
        if (policies.EncryptAtRest)
        {
            if (keys is null || keys.Keys.IsEmpty)
            {
                throw new ArgumentException("Encryption at rest needs a data key.", nameof(keys));
            }
            _currentNumber = keys.Current;
            _current = _keys[_currentNumber];
        }
        _noncePrefix = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4));
    }

    /// <summary>The policies new records are sealed under.</summary>
    public DataPolicies Policies => _policies;

    /// <summary>The frame of <paramref name="record"/> stored as the record <paramref name="context"/> names.</summary>
    public byte[] Seal(ReadOnlySpan<byte> record, ReadOnlySpan<byte> context)
    {
        var compressed = RecordCompressor.TryCompress(_policies.Compression, record);
        var codec = compressed is null ? ValueCompression.Off : _policies.Compression;
        ReadOnlySpan<byte> body = compressed ?? record;
        var encrypted = _current is not null;
        var headerBytes = 2 + (codec != ValueCompression.Off ? 4 : 0) + (encrypted ? 4 : 0);
        var frame = new byte[headerBytes + (encrypted ? NonceBytes + body.Length + TagBytes : body.Length)];
        frame[0] = FrameVersion;
        frame[1] = (byte)((int)codec | (encrypted ? EncryptedFlag : 0));
        var offset = 2;
        if (codec != ValueCompression.Off)
        {
            BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(offset), record.Length);
            offset += 4;
        }
        if (!encrypted)
        {
            body.CopyTo(frame.AsSpan(offset));
            return frame;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(offset), _currentNumber);
        offset += 4;
        var nonce = frame.AsSpan(offset, NonceBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(nonce, _noncePrefix);
        BinaryPrimitives.WriteInt64LittleEndian(nonce[4..], Interlocked.Increment(ref _nonceCounter));
        var associated = AssociatedData(frame.AsSpan(0, headerBytes), context);
        var aes = _current!.Rent();
        try
        {
            aes.Encrypt(nonce, body, frame.AsSpan(headerBytes + NonceBytes, body.Length), frame.AsSpan(frame.Length - TagBytes), associated);
        }
        finally
        {
            _current.Return(aes);
        }
        return frame;
    }

    /// <summary>
    /// The record a frame holds; throws <see cref="InvalidDataException"/> when the frame is damaged, names a data key
    /// this node lacks, or fails authentication (tampered with, or copied from another record).
    /// </summary>
    public byte[] Open(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> context)
    {
        if (frame.Length < 2 || frame[0] != FrameVersion)
        {
            throw new InvalidDataException($"A stored record has frame version {(frame.Length > 0 ? frame[0] : -1)}; this node reads {FrameVersion}.");
        }
        var flags = frame[1];
        if ((flags & ~(EncryptedFlag | CodecMask)) != 0)
        {
            throw new InvalidDataException($"A stored record has unknown frame flags 0x{flags:x2}.");
        }
        var codec = (ValueCompression)(flags & CodecMask);
        var encrypted = (flags & EncryptedFlag) != 0;
        var headerBytes = 2 + (codec != ValueCompression.Off ? 4 : 0) + (encrypted ? 4 : 0);
        if (frame.Length < headerBytes + (encrypted ? NonceBytes + TagBytes : 0))
        {
            throw new InvalidDataException($"A stored record's frame is {frame.Length} bytes, shorter than its header.");
        }
        var originalLength = codec != ValueCompression.Off ? BinaryPrimitives.ReadInt32LittleEndian(frame[2..]) : 0;
        if (originalLength is < 0 or > MaxRecordBytes)
        {
            throw new InvalidDataException($"A stored record claims {originalLength} bytes decompressed.");
        }
        ReadOnlySpan<byte> body;
        if (encrypted)
        {
            var number = BinaryPrimitives.ReadUInt32LittleEndian(frame[(headerBytes - 4)..]);
            if (!_keys.TryGetValue(number, out var pool))
            {
                throw new InvalidDataException($"A stored record is encrypted with data key {number}, which this node's key ring lacks.");
            }
            var nonce = frame.Slice(headerBytes, NonceBytes);
            var ciphertext = frame[(headerBytes + NonceBytes)..^TagBytes];
            var plaintext = new byte[ciphertext.Length];
            var aes = pool.Rent();
            try
            {
                aes.Decrypt(nonce, ciphertext, frame[^TagBytes..], plaintext, AssociatedData(frame[..headerBytes], context));
            }
            catch (AuthenticationTagMismatchException e)
            {
                throw new InvalidDataException("A stored record fails authentication: it was altered, or belongs to another record.", e);
            }
            finally
            {
                pool.Return(aes);
            }
            if (codec == ValueCompression.Off)
            {
                return plaintext;
            }
            body = plaintext;
        }
        else
        {
            body = frame[headerBytes..];
        }
        return codec == ValueCompression.Off ? body.ToArray() : RecordCompressor.Decompress(codec, body, originalLength);
    }

    private static byte[] AssociatedData(ReadOnlySpan<byte> header, ReadOnlySpan<byte> context)
    {
        var data = new byte[header.Length + context.Length];
        header.CopyTo(data);
        context.CopyTo(data.AsSpan(header.Length));
        return data;
    }

    // AesGcm keeps a native key schedule and is not documented as thread-safe; records are sealed on many threads at
    // once, so each key keeps a few instances to lend.
    private sealed class KeyPool(byte[] key)
    {
        private readonly ConcurrentBag<AesGcm> _idle = [];

        public AesGcm Rent() => _idle.TryTake(out var aes) ? aes : new AesGcm(key, TagBytes);

        public void Return(AesGcm aes) => _idle.Add(aes);
    }
}
