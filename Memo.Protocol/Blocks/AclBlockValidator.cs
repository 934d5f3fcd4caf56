using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Blocks;

// Design note: validating ACB and GB blocks.
//
// An ACB (memo's ACL block) carries two signatures, and a replica checks both from the block alone:
//
//   signature       by the owner (owner_key), over the ACL: acl_version, world flags, each entry's (key, read, write)
//                   and each group entry's (group, read) (AclSigning.AclDigest);
//   data_signature  by the editor, over the version, the deleted flag, the editor's key, the ACL digest, the data and
//                   every wrapped key (AclSigning.DataDigest). The editor is the owner when editor_key is empty, else
//                   editor_key, which must be an ACL entry with write, or anyone when the block is world-writable.
//
// A tombstone (deleted) is edited by the owner only and carries no data and no wrapped keys. A world-readable block
// stores its data unencrypted and carries no wrapped keys; any other live block carries the owner's token, a token
// for each reading entry and a (group_key, generation, token) for each group entry. Whether a token really opens the
// data key for its reader cannot be checked without the reader's private key: that is the editor's duty, and the
// editor signed it. Which generation of a group's key the editor wrapped for is likewise the editor's (the group
// block lives at another address, which a replica deciding from one record cannot read).
//
// What a replica checks against the stored block (the version rule, no ACL rollback) is in BlockWriteRules. As for
// every kind, fields that are neither hashed into the address nor signed must be absent.

/// <summary>Structure and signature checks of ACB and GB blocks, for <see cref="BlockValidator.Validate"/>. Pure.</summary>
internal static class AclBlockValidator
{
    /// <summary>True when a block of another kind carries an ACB or GB field (which its signature would not cover).</summary>
    public static bool HasAclFields(Block block) => HasAcbFields(block) || block.GroupGenerations.Count > 0;

    private static bool HasAcbFields(Block block) =>
        !block.DataSignature.IsEmpty || !block.EditorKey.IsEmpty || !block.OwnerToken.IsEmpty || block.Acl.Count > 0
        || block.GroupAcl.Count > 0 || block.AclVersion != 0 || block.WorldReadable || block.WorldWritable;

    /// <summary>Validates an ACB at <paramref name="address"/>: structure, wrapped-key presence, both signatures, the editor's right.</summary>
    public static BlockCheck ValidateAcl(Block block, BlockAddress address)
    {
        if (block.Salt.Length != BlockLimits.SaltBytes)
        {
            return BlockCheck.Malformed($"ACB salt is {block.Salt.Length} bytes, not {BlockLimits.SaltBytes}");
        }
        if (block.Version < 0 || block.AclVersion < 0)
        {
            return BlockCheck.Malformed($"ACB version {block.Version} or ACL version {block.AclVersion} is negative");
        }
        if (!block.Owner.IsEmpty || !block.Name.IsEmpty || block.GroupGenerations.Count > 0)
        {
            return BlockCheck.Malformed("ACB carries a field its kind does not have (owner, name or group_generations)");
        }
        if (!MemoPublicKey.TryFromSpki(block.OwnerKey.Span, out var owner))
        {
            return BlockCheck.Malformed("ACB owner_key is not a canonical P-256 public key");
        }
        if (block.Signature.Length != BlockLimits.SignatureBytes || block.DataSignature.Length != BlockLimits.SignatureBytes)
        {
            return BlockCheck.Malformed($"ACB signature ({block.Signature.Length} bytes) and data_signature ({block.DataSignature.Length} bytes) must both be {BlockLimits.SignatureBytes} bytes");
        }
        if (CheckEntries(block, owner) is { } entries)
        {
            return entries;
        }
        if (CheckTokens(block) is { } tokens)
        {
            return tokens;
        }
        MemoPublicKey editor = owner;
        if (!block.EditorKey.IsEmpty)
        {
            if (!MemoPublicKey.TryFromSpki(block.EditorKey.Span, out var named) || named.Equals(owner))
            {
                return BlockCheck.Malformed("ACB editor_key is not a canonical P-256 key other than the owner's (an owner's edit leaves it empty)");
            }
            editor = named;
        }
        if (BlockAddresses.Mutable(block.OwnerKey.Span, block.Salt.Span) != address)
        {
            return BlockCheck.Forged("ACB address does not match its owner key and salt");
        }
        if (!owner.VerifyDigest(AclSigning.AclDigest(block), block.Signature.Span))
        {
            return BlockCheck.Forged("ACB ACL signature does not verify with its owner key");
        }
        if (!ReferenceEquals(editor, owner) && !block.WorldWritable && !IsWriter(block, editor))
        {
            return BlockCheck.Forged($"ACB data is signed by {editor}, who is neither its owner nor a writer in its ACL");
        }
        return editor.VerifyDigest(AclSigning.DataDigest(block), block.DataSignature.Span)
            ? BlockCheck.Valid
            : BlockCheck.Forged("ACB data signature does not verify with its editor's key");
    }

    /// <summary>Validates a GB at <paramref name="address"/>: structure, generations numbered from 0, the owner's signature.</summary>
    public static BlockCheck ValidateGroup(Block block, BlockAddress address)
    {
        if (block.Salt.Length != BlockLimits.SaltBytes)
        {
            return BlockCheck.Malformed($"GB salt is {block.Salt.Length} bytes, not {BlockLimits.SaltBytes}");
        }
        if (block.Version < 0)
        {
            return BlockCheck.Malformed($"GB version {block.Version} is negative");
        }
        if (!block.Owner.IsEmpty || !block.Name.IsEmpty || HasAcbFields(block))
        {
            return BlockCheck.Malformed("GB carries a field its kind does not have (owner, name or an ACB field)");
        }
        if (!MemoPublicKey.TryFromSpki(block.OwnerKey.Span, out var owner))
        {
            return BlockCheck.Malformed("GB owner_key is not a canonical P-256 public key");
        }
        if (block.Signature.Length != BlockLimits.SignatureBytes)
        {
            return BlockCheck.Malformed($"GB signature is {block.Signature.Length} bytes, not {BlockLimits.SignatureBytes}");
        }
        if (block.GroupGenerations.Count > AclLimits.MaxGenerations)
        {
            return BlockCheck.Malformed($"GB has {block.GroupGenerations.Count} generations, more than {AclLimits.MaxGenerations}");
        }
        for (var i = 0; i < block.GroupGenerations.Count; i++)
        {
            var generation = block.GroupGenerations[i];
            if (generation.Generation != i)
            {
                return BlockCheck.Malformed($"GB generation at position {i} is numbered {generation.Generation}; generations count from 0 without gaps");
            }
            if (!MemoPublicKey.TryFromSpki(generation.PublicKey.Span, out _))
            {
                return BlockCheck.Malformed($"GB generation {i} public_key is not a canonical P-256 public key");
            }
            if (generation.Members.Count > AclLimits.MaxMembers)
            {
                return BlockCheck.Malformed($"GB generation {i} has {generation.Members.Count} members, more than {AclLimits.MaxMembers}");
            }
            var seen = new HashSet<byte[]>(SpkiComparer.Instance);
            foreach (var member in generation.Members)
            {
                if (!MemoPublicKey.TryFromSpki(member.Key.Span, out _) || !seen.Add(member.Key.ToByteArray()))
                {
                    return BlockCheck.Malformed($"GB generation {i} lists a member key that is not a canonical P-256 key, or twice");
                }
                if (member.Token.IsEmpty || member.Token.Length > AclLimits.MaxTokenBytes)
                {
                    return BlockCheck.Malformed($"GB generation {i} member token is {member.Token.Length} bytes, not 1 to {AclLimits.MaxTokenBytes}");
                }
            }
        }
        if (BlockAddresses.Mutable(block.OwnerKey.Span, block.Salt.Span) != address)
        {
            return BlockCheck.Forged("GB address does not match its owner key and salt");
        }
        return owner.VerifyDigest(AclSigning.GroupDigest(block), block.Signature.Span)
            ? BlockCheck.Valid
            : BlockCheck.Forged("GB signature does not verify with its owner key");
    }

    /// <summary>True when <paramref name="user"/> is an ACL entry of <paramref name="block"/> with write.</summary>
    public static bool IsWriter(Block block, MemoPublicKey user)
    {
        foreach (var entry in block.Acl)
        {
            if (entry.Write && user.Matches(entry.Key.Span))
            {
                return true;
            }
        }
        return false;
    }

    private static BlockCheck? CheckEntries(Block block, MemoPublicKey owner)
    {
        if (block.Acl.Count > AclLimits.MaxEntries || block.GroupAcl.Count > AclLimits.MaxGroupEntries)
        {
            return BlockCheck.Malformed($"ACB has {block.Acl.Count} user and {block.GroupAcl.Count} group entries; at most {AclLimits.MaxEntries} and {AclLimits.MaxGroupEntries}");
        }
        var users = new HashSet<byte[]>(SpkiComparer.Instance);
        foreach (var entry in block.Acl)
        {
            if (!MemoPublicKey.TryFromSpki(entry.Key.Span, out var key) || key.Equals(owner) || !users.Add(entry.Key.ToByteArray()))
            {
                return BlockCheck.Malformed("ACB ACL entry key is not a canonical P-256 key, is the owner's, or is listed twice");
            }
        }
        var groups = new HashSet<BlockAddress>();
        foreach (var entry in block.GroupAcl)
        {
            if (!BlockAddress.TryFromBytes(entry.Group.Span, out var group) || group.IsImmutable || !groups.Add(group))
            {
                return BlockCheck.Malformed("ACB group entry does not name a group block's (mutable) address, or names it twice");
            }
            if (!entry.Read)
            {
                // Groups grant reading only: a writer signs as itself, and a replica can check only keys named in the ACL.
                return BlockCheck.Malformed("ACB group entry does not grant read (groups grant reading only)");
            }
            if (entry.Generation < 0)
            {
                return BlockCheck.Malformed($"ACB group entry generation {entry.Generation} is negative");
            }
        }
        return null;
    }

    // Which wrapped keys a block must carry: none for a tombstone or a world-readable block; otherwise the owner's,
    // one per reading entry and one per group entry (with the group generation's public key).
    private static BlockCheck? CheckTokens(Block block)
    {
        var clear = block.Deleted || block.WorldReadable;
        if (block.Deleted && (!block.EditorKey.IsEmpty || !block.GetPayload().IsEmpty))
        {
            return BlockCheck.Malformed("an ACB tombstone is edited by its owner (editor_key empty) and carries no data");
        }
        if (clear != block.OwnerToken.IsEmpty || block.OwnerToken.Length > AclLimits.MaxTokenBytes)
        {
            return BlockCheck.Malformed(clear
                ? "a deleted or world-readable ACB carries no owner_token"
                : $"ACB owner_token is {block.OwnerToken.Length} bytes, not 1 to {AclLimits.MaxTokenBytes}");
        }
        foreach (var entry in block.Acl)
        {
            var wanted = !clear && entry.Read;
            if (wanted == entry.Token.IsEmpty || entry.Token.Length > AclLimits.MaxTokenBytes)
            {
                return BlockCheck.Malformed(wanted
                    ? $"ACB ACL reader's token is {entry.Token.Length} bytes, not 1 to {AclLimits.MaxTokenBytes}"
                    : "ACB ACL entry carries a token it must not have (not a reader, or the block is deleted or world-readable)");
            }
        }
        foreach (var entry in block.GroupAcl)
        {
            if (clear)
            {
                if (!entry.Token.IsEmpty || !entry.GroupKey.IsEmpty || entry.Generation != 0)
                {
                    return BlockCheck.Malformed("a deleted or world-readable ACB's group entry carries no group_key, generation or token");
                }
                continue;
            }
            if (entry.Token.IsEmpty || entry.Token.Length > AclLimits.MaxTokenBytes || !MemoPublicKey.TryFromSpki(entry.GroupKey.Span, out _))
            {
                return BlockCheck.Malformed($"ACB group entry needs a group_key (a canonical P-256 key) and a token of 1 to {AclLimits.MaxTokenBytes} bytes");
            }
        }
        return null;
    }
}
