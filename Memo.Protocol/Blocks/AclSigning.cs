using System.Buffers.Binary;
using System.Security.Cryptography;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Blocks;

/// <summary>
/// The canonical bytes signed in access-controlled (ACB) and group (GB) blocks, in <see cref="BlockSigning"/>'s
/// style: a domain string and a zero byte, fixed-width big-endian integers, u32be-length-prefixed byte strings, lists
/// as a u32be count then their items. Only their SHA-256 digests are needed (signatures are made over digests), so
/// they are hashed incrementally and never materialised.
/// <code>
/// ACB ACL  (owner):  "memo/acb/acl/1"  0x00 ‖ address ‖ u64 acl_version ‖ owner_key ‖ u8 world_readable ‖ u8 world_writable
///                    ‖ u32 n ‖ n × (key ‖ u8 read ‖ u8 write) ‖ u32 m ‖ m × (group ‖ u8 read)
/// ACB data (editor): "memo/acb/data/1" 0x00 ‖ address ‖ u64 version ‖ u8 deleted ‖ editor_key ‖ SHA-256(ACL bytes)
///                    ‖ data ‖ owner_token ‖ u32 n ‖ n × token ‖ u32 m ‖ m × (group_key ‖ u64 generation ‖ token)
/// GB       (owner):  "memo/gb/1"       0x00 ‖ address ‖ u64 version ‖ u8 deleted ‖ data ‖ owner_key
///                    ‖ u32 g ‖ g × (u64 generation ‖ public_key ‖ u32 k ‖ k × (key ‖ token))
/// </code>
/// The owner's ACL signature leaves out the wrapped keys (tokens): they change on every write, which an editor who
/// is not the owner makes. The editor's signature covers them and the digest of the ACL bytes, so data and tokens are
/// bound to one owner-signed ACL (its <c>acl_version</c> included) and cannot be moved under another.
/// </summary>
public static class AclSigning
{
    private static readonly byte[] AclDomain = "memo/acb/acl/1\0"u8.ToArray();
    private static readonly byte[] DataDomain = "memo/acb/data/1\0"u8.ToArray();
    private static readonly byte[] GroupDomain = "memo/gb/1\0"u8.ToArray();

    /// <summary>SHA-256 of the ACL bytes of an ACB: what its owner signs in <c>signature</c>.</summary>
    public static byte[] AclDigest(Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(AclDomain);
        hash.AppendData(block.Address.Span);
        AppendUInt64(hash, unchecked((ulong)block.AclVersion));
        AppendPrefixed(hash, block.OwnerKey.Span);
        hash.AppendData([Flag(block.WorldReadable), Flag(block.WorldWritable)]);
        AppendCount(hash, block.Acl.Count);
        foreach (var entry in block.Acl)
        {
            AppendPrefixed(hash, entry.Key.Span);
            hash.AppendData([Flag(entry.Read), Flag(entry.Write)]);
        }
        AppendCount(hash, block.GroupAcl.Count);
        foreach (var entry in block.GroupAcl)
        {
            AppendPrefixed(hash, entry.Group.Span);
            hash.AppendData([Flag(entry.Read)]);
        }
        return hash.GetHashAndReset();
    }

    /// <summary>SHA-256 of the data bytes of an ACB: what its editor signs in <c>data_signature</c>.</summary>
    public static byte[] DataDigest(Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        var aclDigest = AclDigest(block);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(DataDomain);
        hash.AppendData(block.Address.Span);
        AppendUInt64(hash, unchecked((ulong)block.Version));
        hash.AppendData([Flag(block.Deleted)]);
        AppendPrefixed(hash, block.EditorKey.Span);
        hash.AppendData(aclDigest);
        AppendPrefixed(hash, block.GetPayload().Span);
        AppendPrefixed(hash, block.OwnerToken.Span);
        AppendCount(hash, block.Acl.Count);
        foreach (var entry in block.Acl)
        {
            AppendPrefixed(hash, entry.Token.Span);
        }
        AppendCount(hash, block.GroupAcl.Count);
        foreach (var entry in block.GroupAcl)
        {
            AppendPrefixed(hash, entry.GroupKey.Span);
            AppendUInt64(hash, unchecked((ulong)entry.Generation));
            AppendPrefixed(hash, entry.Token.Span);
        }
        return hash.GetHashAndReset();
    }

    /// <summary>SHA-256 of the signing bytes of a GB: what its owner signs in <c>signature</c>.</summary>
    public static byte[] GroupDigest(Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(GroupDomain);
        hash.AppendData(block.Address.Span);
        AppendUInt64(hash, unchecked((ulong)block.Version));
        hash.AppendData([Flag(block.Deleted)]);
        AppendPrefixed(hash, block.GetPayload().Span);
        AppendPrefixed(hash, block.OwnerKey.Span);
        AppendCount(hash, block.GroupGenerations.Count);
        foreach (var generation in block.GroupGenerations)
        {
            AppendUInt64(hash, unchecked((ulong)generation.Generation));
            AppendPrefixed(hash, generation.PublicKey.Span);
            AppendCount(hash, generation.Members.Count);
            foreach (var member in generation.Members)
            {
                AppendPrefixed(hash, member.Key.Span);
                AppendPrefixed(hash, member.Token.Span);
            }
        }
        return hash.GetHashAndReset();
    }

    private static byte Flag(bool value) => value ? (byte)1 : (byte)0;

    private static void AppendUInt64(IncrementalHash hash, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        hash.AppendData(bytes);
    }

    private static void AppendCount(IncrementalHash hash, int count)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, checked((uint)count));
        hash.AppendData(bytes);
    }

    private static void AppendPrefixed(IncrementalHash hash, ReadOnlySpan<byte> value)
    {
        AppendCount(hash, value.Length);
        hash.AppendData(value);
    }
}
