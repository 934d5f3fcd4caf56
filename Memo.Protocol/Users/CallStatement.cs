using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;

namespace Memo.Protocol.Users;

/// <summary>
/// The bytes a user signs for one call (the <c>CallToken</c> of <c>memo_users.proto</c>):
/// <c>"memo/call/1" 0x00 ‖ u16be(len method) ‖ method ‖ i64be(issued ms) ‖ nonce ‖ SHA-256(summary)</c>. For key-value
/// writes and deletes the summary is the key and the value's digest, not the request's bytes, so a shard replica that
/// holds only the key and the value block can rebuild it and check the writer's signature when it applies the write.
/// </summary>
public static class CallStatement
{
    /// <summary>Bytes of a call token's nonce.</summary>
    public const int NonceBytes = 16;

    /// <summary>The gRPC path of memo.kvs Insert.</summary>
    public const string KvInsert = "/memo.kvs.KeyValueStore/Insert";

    /// <summary>The gRPC path of memo.kvs Update.</summary>
    public const string KvUpdate = "/memo.kvs.KeyValueStore/Update";

    /// <summary>The gRPC path of memo.kvs Upsert.</summary>
    public const string KvUpsert = "/memo.kvs.KeyValueStore/Upsert";

    /// <summary>The gRPC path of memo.kvs Delete.</summary>
    public const string KvDelete = "/memo.kvs.KeyValueStore/Delete";

    private static readonly byte[] Domain = "memo/call/1\0"u8.ToArray();

    /// <summary>SHA-256 of a call's summary, from the request message (<see cref="CallStatement"/>).</summary>
    public static byte[] SummaryDigest(IMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request switch
        {
            Kvs.InsertRequest r => KeyedSummaryDigest(r.Key, SHA256.HashData(r.Value.Span)),
            Kvs.UpdateRequest r => KeyedSummaryDigest(r.Key, SHA256.HashData(r.Value.Span)),
            Kvs.UpsertRequest r => KeyedSummaryDigest(r.Key, SHA256.HashData(r.Value.Span)),
            Kvs.DeleteRequest r => KeyedSummaryDigest(r.Key, []),
            _ => SHA256.HashData(request.ToByteArray()),
        };
    }

    /// <summary>SHA-256 of <c>u32be(len key) ‖ key ‖ valueDigest</c> (<paramref name="valueDigest"/> empty for a delete).</summary>
    public static byte[] KeyedSummaryDigest(string key, ReadOnlySpan<byte> valueDigest)
    {
        ArgumentNullException.ThrowIfNull(key);
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var summary = new byte[4 + keyBytes.Length + valueDigest.Length];
        BinaryPrimitives.WriteUInt32BigEndian(summary, (uint)keyBytes.Length);
        keyBytes.CopyTo(summary, 4);
        valueDigest.CopyTo(summary.AsSpan(4 + keyBytes.Length));
        return SHA256.HashData(summary);
    }

    /// <summary>The signed bytes of a call.</summary>
    public static byte[] Bytes(string method, long issuedUnixMs, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> summaryDigest)
    {
        ArgumentNullException.ThrowIfNull(method);
        var methodBytes = Encoding.UTF8.GetBytes(method);
        var bytes = new byte[Domain.Length + 2 + methodBytes.Length + 8 + nonce.Length + summaryDigest.Length];
        var span = bytes.AsSpan();
        Domain.CopyTo(span);
        span = span[Domain.Length..];
        BinaryPrimitives.WriteUInt16BigEndian(span, checked((ushort)methodBytes.Length));
        methodBytes.CopyTo(span[2..]);
        span = span[(2 + methodBytes.Length)..];
        BinaryPrimitives.WriteInt64BigEndian(span, issuedUnixMs);
        nonce.CopyTo(span[8..]);
        summaryDigest.CopyTo(span[(8 + nonce.Length)..]);
        return bytes;
    }
}
