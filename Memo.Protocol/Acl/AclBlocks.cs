using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Acl;

// Design note: writing and reading ACBs (memo's ACL blocks) client-side.
//
// Every write seals the data afresh: a new AES-256-GCM data key (AclDataCipher), the data encrypted under it, the key
// wrapped (KeyWrapping) for the owner (owner_token), for each reading ACL entry (token) and for the newest generation
// of each readable group; then the editor signs the data, the tokens and the ACL's digest (AclSigning.DataDigest). A
// world-readable block stores its data in clear and wraps nothing. Only the owner changes the ACL: a new ACL version
// signed by the owner, and the data sealed again by the owner so that a removed reader's token is gone and a new
// reader's is there. A writer keeps the owner's ACL and signature as they are.
//
//               signs                          can decrypt
//   owner       ACL (signature), and the data  always (owner_token)
//               when it edits or removes
//   writer      the data (data_signature)      only if also a reader
//   reader      nothing                        the data of versions written while it was a reader
//   group       nothing                        members of the generation the version was wrapped for
//
// Nothing here talks to a node: MemoClient fetches and stores, these methods build and open blocks (pure but for the
// CSPRNG that makes keys, salts and nonces).

/// <summary>Builds and opens ACBs. Misuse (a non-writer editing, a non-owner changing the ACL, a missing group block) throws <see cref="ArgumentException"/>.</summary>
public static class AclBlocks
{
    /// <summary>Largest plaintext an ACB holds: the block payload limit less the encryption's overhead.</summary>
    public const int MaxPlaintextBytes = BlockLimits.MaxDataBytes - AclDataCipher.Overhead;

    /// <summary>
    /// A new ACB owned by <paramref name="owner"/> holding <paramref name="data"/>, readable and writable as
    /// <paramref name="access"/> says, at version 0 and ACL version 0. <paramref name="groups"/> holds the group
    /// blocks <paramref name="access"/> names (the data key is wrapped for their newest generation).
    /// </summary>
    public static Block Create(MemoKeyPair owner, ReadOnlySpan<byte> data, AccessList access, IReadOnlyDictionary<BlockAddress, Block>? groups = null)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(access);
        var salt = RandomNumberGenerator.GetBytes(BlockLimits.SaltBytes);
        var block = new Block
        {
            Type = BlockKinds.AclType,
            Address = ByteString.CopyFrom(BlockAddresses.Mutable(owner.PublicKey.Spki.Span, salt).ToArray()),
            Salt = ByteString.CopyFrom(salt),
            OwnerKey = ByteString.CopyFrom(owner.PublicKey.Spki.Span),
        };
        SetAccess(block, access, owner.PublicKey);
        SignAcl(block, owner);
        SealData(block, owner, data, groups);
        return block;
    }

    /// <summary>
    /// The next version of <paramref name="current"/> holding <paramref name="data"/>, written by
    /// <paramref name="editor"/> (the owner, an ACL writer, or anyone when world-writable). The ACL is unchanged.
    /// </summary>
    public static Block Edit(Block current, MemoKeyPair editor, ReadOnlySpan<byte> data, IReadOnlyDictionary<BlockAddress, Block>? groups = null)
    {
        var next = NextVersion(current);
        SealData(next, editor, data, groups);
        return next;
    }

    /// <summary>
    /// The next version of <paramref name="current"/> with the ACL <paramref name="access"/> (ACL version + 1, signed by
    /// <paramref name="owner"/>) and <paramref name="data"/> sealed again for the new readers (read it first with
    /// <see cref="TryRead"/>).
    /// </summary>
    public static Block ChangeAccess(Block current, MemoKeyPair owner, AccessList access, ReadOnlySpan<byte> data, IReadOnlyDictionary<BlockAddress, Block>? groups = null)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(access);
        var next = NextVersion(current);
        if (!owner.PublicKey.Matches(next.OwnerKey.Span))
        {
            throw new ArgumentException("Only the owner of an ACB changes its ACL.", nameof(owner));
        }
        next.AclVersion = checked(current.AclVersion + 1);
        SetAccess(next, access, owner.PublicKey);
        SignAcl(next, owner);
        SealData(next, owner, data, groups);
        return next;
    }

    /// <summary>The owner's tombstone for <paramref name="current"/>: the next version, deleted, with no data.</summary>
    public static Block Tombstone(Block current, MemoKeyPair owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var next = NextVersion(current);
        if (!owner.PublicKey.Matches(next.OwnerKey.Span))
        {
            throw new ArgumentException("Only the owner of an ACB removes it.", nameof(owner));
        }
        next.Deleted = true;
        next.EditorKey = ByteString.Empty;
        next.Data = ByteString.Empty;
        ClearTokens(next);
        next.DataSignature = ByteString.CopyFrom(owner.SignDigest(AclSigning.DataDigest(next)));
        return next;
    }

    /// <summary>The ACL of an ACB as its owner signed it.</summary>
    public static AccessList AccessOf(Block block)
    {
        RequireAcl(block);
        return new AccessList(
            [.. block.Acl.Select(e => new AclGrant(MemoPublicKey.FromSpki(e.Key.Span), e.Read, e.Write))],
            [.. block.GroupAcl.Select(e => BlockAddress.FromBytes(e.Group.Span))],
            block.WorldReadable,
            block.WorldWritable);
    }

    /// <summary>The group blocks an ACB's ACL names (a reader fetches them before <see cref="TryRead"/>, a writer before <see cref="Edit"/>).</summary>
    public static IReadOnlyList<BlockAddress> GroupsOf(Block block)
    {
        RequireAcl(block);
        return [.. block.GroupAcl.Select(e => BlockAddress.FromBytes(e.Group.Span))];
    }

    /// <summary>The key that signed the current data: the owner's when <c>editor_key</c> is empty.</summary>
    public static MemoPublicKey EditorOf(Block block)
    {
        RequireAcl(block);
        return MemoPublicKey.FromSpki(block.EditorKey.IsEmpty ? block.OwnerKey.Span : block.EditorKey.Span);
    }

    /// <summary>True when <paramref name="user"/> may sign the data of <paramref name="block"/>: its owner, an ACL writer, or anyone when world-writable.</summary>
    public static bool MayWrite(Block block, MemoPublicKey user)
    {
        RequireAcl(block);
        ArgumentNullException.ThrowIfNull(user);
        return user.Matches(block.OwnerKey.Span) || block.WorldWritable || block.Acl.Any(e => e.Write && user.Matches(e.Key.Span));
    }

    /// <summary>
    /// Decrypts the data of <paramref name="block"/> as <paramref name="user"/>: as its owner, as a reading ACL entry,
    /// or as a member of the generation a readable group's key was wrapped for (its block in <paramref name="groups"/>).
    /// False when the user cannot read this version or the block is a tombstone; never throws on a damaged token.
    /// </summary>
    public static bool TryRead(Block block, MemoKeyPair user, IReadOnlyDictionary<BlockAddress, Block>? groups, [NotNullWhen(true)] out byte[]? data)
    {
        RequireAcl(block);
        ArgumentNullException.ThrowIfNull(user);
        data = null;
        if (block.Deleted)
        {
            return false;
        }
        if (block.WorldReadable)
        {
            data = block.GetPayload().ToByteArray();
            return true;
        }
        var key = OpenDataKey(block, user, groups);
        if (key is null)
        {
            return false;
        }
        try
        {
            return AclDataCipher.TryDecrypt(key, block.GetAddress(), block.Version, block.GetPayload().Span, out data);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static byte[]? OpenDataKey(Block block, MemoKeyPair user, IReadOnlyDictionary<BlockAddress, Block>? groups)
    {
        using (var agreement = KeyWrapping.AgreementKey(user))
        {
            if (user.PublicKey.Matches(block.OwnerKey.Span))
            {
                return KeyWrapping.TryUnwrap(agreement, block.OwnerToken.Span, out var owned) ? owned : null;
            }
            foreach (var entry in block.Acl)
            {
                if (entry.Read && user.PublicKey.Matches(entry.Key.Span) && KeyWrapping.TryUnwrap(agreement, entry.Token.Span, out var read))
                {
                    return read;
                }
            }
        }
        if (groups is null)
        {
            return null;
        }
        foreach (var entry in block.GroupAcl)
        {
            if (!BlockAddress.TryFromBytes(entry.Group.Span, out var address) || !groups.TryGetValue(address, out var group)
                || !GroupBlocks.TryOpenGeneration(group, entry.Generation, user, out var groupKey))
            {
                continue;
            }
            using (groupKey)
            {
                if (groupKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(entry.GroupKey.Span)
                    && KeyWrapping.TryUnwrap(groupKey, entry.Token.Span, out var viaGroup))
                {
                    return viaGroup;
                }
            }
        }
        return null;
    }

    private static Block NextVersion(Block current)
    {
        RequireAcl(current);
        if (current.Deleted)
        {
            throw new ArgumentException("The ACB was removed (it is a tombstone).", nameof(current));
        }
        var next = current.Clone();
        next.Version = checked(current.Version + 1);
        return next;
    }

    private static void RequireAcl(Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (!block.TryGetKind(out var kind) || kind != BlockKind.Acl)
        {
            throw new ArgumentException($"Not an ACB: '{block.Type}'.", nameof(block));
        }
    }

    private static void SetAccess(Block block, AccessList access, MemoPublicKey owner)
    {
        if (access.Users.Count > AclLimits.MaxEntries || access.Groups.Count > AclLimits.MaxGroupEntries)
        {
            throw new ArgumentException($"An ACL holds at most {AclLimits.MaxEntries} users and {AclLimits.MaxGroupEntries} groups.", nameof(access));
        }
        if (access.Users.Any(g => g.User.Equals(owner)) || access.Users.DistinctBy(g => g.User).Count() != access.Users.Count
            || access.Groups.Distinct().Count() != access.Groups.Count || access.Groups.Any(g => g.IsImmutable))
        {
            throw new ArgumentException("An ACL lists each user and group once, never the owner, and groups by their (mutable) block address.", nameof(access));
        }
        block.WorldReadable = access.WorldReadable;
        block.WorldWritable = access.WorldWritable;
        block.Acl.Clear();
        foreach (var grant in access.Users)
        {
            block.Acl.Add(new AclEntry { Key = ByteString.CopyFrom(grant.User.Spki.Span), Read = grant.Read, Write = grant.Write });
        }
        block.GroupAcl.Clear();
        foreach (var group in access.Groups)
        {
            block.GroupAcl.Add(new AclGroupEntry { Group = ByteString.CopyFrom(group.ToArray()), Read = true });
        }
    }

    private static void SignAcl(Block block, MemoKeyPair owner) =>
        block.Signature = ByteString.CopyFrom(owner.SignDigest(AclSigning.AclDigest(block)));

    private static void SealData(Block block, MemoKeyPair editor, ReadOnlySpan<byte> data, IReadOnlyDictionary<BlockAddress, Block>? groups)
    {
        ArgumentNullException.ThrowIfNull(editor);
        if (data.Length > MaxPlaintextBytes)
        {
            throw new ArgumentException($"ACB data is {data.Length} bytes, more than {MaxPlaintextBytes}.", nameof(data));
        }
        if (!MayWrite(block, editor.PublicKey))
        {
            throw new ArgumentException($"{editor.PublicKey} is neither the owner of {block.GetAddress()} nor a writer in its ACL.", nameof(editor));
        }
        var owner = MemoPublicKey.FromSpki(block.OwnerKey.Span);
        block.EditorKey = editor.PublicKey.Equals(owner) ? ByteString.Empty : ByteString.CopyFrom(editor.PublicKey.Spki.Span);
        block.Deleted = false;
        if (block.WorldReadable)
        {
            block.Data = ByteString.CopyFrom(data);
            ClearTokens(block);
        }
        else
        {
            var key = AclDataCipher.NewKey();
            try
            {
                block.Data = ByteString.CopyFrom(AclDataCipher.Encrypt(key, block.GetAddress(), block.Version, data));
                block.OwnerToken = ByteString.CopyFrom(KeyWrapping.Wrap(owner, key));
                foreach (var entry in block.Acl)
                {
                    entry.Token = entry.Read ? ByteString.CopyFrom(KeyWrapping.Wrap(MemoPublicKey.FromSpki(entry.Key.Span), key)) : ByteString.Empty;
                }
                foreach (var entry in block.GroupAcl)
                {
                    var address = BlockAddress.FromBytes(entry.Group.Span);
                    if (groups is null || !groups.TryGetValue(address, out var group))
                    {
                        throw new ArgumentException($"The group block {address} is needed to wrap the data key for its members.", nameof(groups));
                    }
                    var check = BlockValidator.ValidateAt(group, address);
                    if (!check.IsValid || group.Type != BlockKinds.GroupType || group.GroupGenerations.Count == 0)
                    {
                        throw new ArgumentException($"The block given for group {address} is not a valid group block ({check}).", nameof(groups));
                    }
                    var newest = group.GroupGenerations[^1];
                    entry.GroupKey = newest.PublicKey;
                    entry.Generation = newest.Generation;
                    entry.Token = ByteString.CopyFrom(KeyWrapping.Wrap(MemoPublicKey.FromSpki(newest.PublicKey.Span), key));
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }
        block.DataSignature = ByteString.CopyFrom(editor.SignDigest(AclSigning.DataDigest(block)));
    }

    private static void ClearTokens(Block block)
    {
        block.OwnerToken = ByteString.Empty;
        foreach (var entry in block.Acl)
        {
            entry.Token = ByteString.Empty;
        }
        foreach (var entry in block.GroupAcl)
        {
            entry.GroupKey = ByteString.Empty;
            entry.Generation = 0;
            entry.Token = ByteString.Empty;
        }
    }
}
