using System.Diagnostics.CodeAnalysis;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Blocks;

// Design note: block validation.
//
// Every replica validates a block before accepting it and every client validates what it fetches, so a node
// that serves a forged or corrupted block is detected and the read retried elsewhere. Validation is pure: it
// needs only the block (and, for ValidateAt, the address the client asked for).
//
// What authenticates each kind:
//   CHB  the address is SHA-256(salt ‖ u32be len(owner) ‖ owner ‖ data) with the immutable flag: the block is
//        self-certifying and carries no signature.
//   OKB  the address is SHA-256(owner_key ‖ salt), binding owner and salt; the owner's ECDSA P-256 signature
//        covers the address, version, deleted flag, data and owner key (BlockSigning lists the exact bytes).
//   NB   the address is SHA-256("NB/" ‖ owner_key ‖ "/" ‖ name); the owner's signature covers address, name,
//        data and owner key.
//   ACB  the address as an OKB's; the owner signs the ACL and the editor the data (AclBlockValidator).
//   GB   the address as an OKB's; the owner signs everything, the group key generations included (AclSigning).
// Every field that is neither hashed into the address nor signed must be absent (empty/zero) for its kind, so
// nothing in a valid block can be altered undetected. The one exception is which oneof member carries the payload
// (data or data_plain): both mean the same bytes. Owner keys must be canonical P-256 SPKI, so one key has one
// encoding and one set of addresses.
//
// Why canonical bytes: protobuf serialisation is not canonical (field order, unknown fields, default-value
// omission and varint padding may differ between encoders and versions), and JSON even less so. Signing a
// hand-specified, domain-separated, length-prefixed byte string means any implementation can recompute exactly
// what was signed from the decoded fields, and a signature for one purpose (an OKB version, an NB, a removal)
// never verifies for another. The domain strings carry the format version ("/1").
//
// Status mapping (memo's): Malformed -> INVALID_ARGUMENT (the request is wrong whoever sends it);
// Forged -> PERMISSION_DENIED (well-formed, but not what the owner produced or not at the address asked for).

/// <summary>
/// Checks a block's structure, its address against its content and its owner's signature. Pure and thread-safe.
/// </summary>
public static class BlockValidator
{
    /// <summary>
    /// Validates a block: structure (known type, 32-byte address, supported format, fields present or absent as
    /// the kind requires, sizes within <see cref="BlockLimits"/>, owner key parses) gives
    /// <see cref="BlockCheckOutcome.Malformed"/>; an address that does not match the content or a bad signature
    /// gives <see cref="BlockCheckOutcome.Forged"/>.
    /// </summary>
    public static BlockCheck Validate(Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (!block.TryGetKind(out var kind))
        {
            return BlockCheck.Malformed($"unknown block type '{Truncate(block.Type)}'");
        }
        if (!block.TryGetAddress(out var address))
        {
            return BlockCheck.Malformed($"address is {block.Address.Length} bytes, not {BlockAddress.Length}");
        }
        if (block.Format > 1)
        {
            return BlockCheck.Malformed($"unsupported block format {block.Format}");
        }
        var payload = block.GetPayload();
        if (payload.Length > BlockLimits.MaxDataBytes)
        {
            return BlockCheck.Malformed($"data is {payload.Length} bytes, more than {BlockLimits.MaxDataBytes}");
        }
        return kind switch
        {
            BlockKind.Immutable => ValidateImmutable(block, address),
            BlockKind.Mutable => ValidateMutable(block, address),
            BlockKind.Acl => AclBlockValidator.ValidateAcl(block, address),
            BlockKind.Group => AclBlockValidator.ValidateGroup(block, address),
            _ => ValidateNamed(block, address),
        };
    }

    /// <summary>
    /// Validates a block fetched from <paramref name="expected"/>: a valid block stored at another address is
    /// <see cref="BlockCheckOutcome.Forged"/> (a replica answered with the wrong block).
    /// </summary>
    public static BlockCheck ValidateAt(Block block, BlockAddress expected)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (block.TryGetAddress(out var address) && address != expected)
        {
            return BlockCheck.Forged($"block is at {address}, not the requested {expected}");
        }
        return Validate(block);
    }

    /// <summary>
    /// True when <paramref name="signature"/> is the owner's removal signature for <paramref name="stored"/>
    /// (<see cref="BlockSigning.RemovalBytes"/>). Always false for an ownerless CHB: nobody may delete one, since
    /// nobody can prove a right to it. Never throws on bad input.
    /// </summary>
    public static bool VerifyRemoval(Block stored, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (signature.Length != BlockLimits.SignatureBytes || !stored.TryGetKind(out _))
        {
            return false;
        }
        var owner = stored.GetOwnerSpki();
        if (owner.IsEmpty || !MemoPublicKey.TryFromSpki(owner.Span, out var key))
        {
            return false;
        }
        return key.Verify(BlockSigning.RemovalBytes(stored), signature);
    }

    private static BlockCheck ValidateImmutable(Block block, BlockAddress address)
    {
        if (block.Salt.Length != BlockLimits.SaltBytes)
        {
            return BlockCheck.Malformed($"CHB salt is {block.Salt.Length} bytes, not {BlockLimits.SaltBytes}");
        }
        if (!block.Owner.IsEmpty && !MemoPublicKey.TryFromSpki(block.Owner.Span, out _))
        {
            return BlockCheck.Malformed("CHB owner is not a canonical P-256 public key");
        }
        if (!block.Signature.IsEmpty || !block.Name.IsEmpty || block.Version != 0 || block.Deleted || !block.OwnerKey.IsEmpty || AclBlockValidator.HasAclFields(block))
        {
            return BlockCheck.Malformed("CHB carries a field its kind does not have (signature, name, version, deleted, owner_key or an ACB/GB field)");
        }
        if (BlockAddresses.Immutable(block.Salt.Span, block.Owner.Span, block.GetPayload().Span) != address)
        {
            return BlockCheck.Forged("CHB address does not match its salt, owner and data");
        }
        return BlockCheck.Valid;
    }

    private static BlockCheck ValidateMutable(Block block, BlockAddress address)
    {
        if (block.Salt.Length != BlockLimits.SaltBytes)
        {
            return BlockCheck.Malformed($"OKB salt is {block.Salt.Length} bytes, not {BlockLimits.SaltBytes}");
        }
        if (block.Version < 0)
        {
            return BlockCheck.Malformed($"OKB version {block.Version} is negative");
        }
        if (!block.Owner.IsEmpty || !block.Name.IsEmpty || AclBlockValidator.HasAclFields(block))
        {
            return BlockCheck.Malformed("OKB carries a field its kind does not have (owner, name or an ACB/GB field)");
        }
        if (!TryOwnerKey(block, out var key, out var failure) || !HasSignature(block, out failure))
        {
            return failure;
        }
        if (BlockAddresses.Mutable(block.OwnerKey.Span, block.Salt.Span) != address)
        {
            return BlockCheck.Forged("OKB address does not match its owner key and salt");
        }
        return key.VerifyDigest(BlockSigning.SigningDigest(block), block.Signature.Span)
            ? BlockCheck.Valid
            : BlockCheck.Forged("OKB signature does not verify with its owner key");
    }

    private static BlockCheck ValidateNamed(Block block, BlockAddress address)
    {
        if (block.Name.IsEmpty || block.Name.Length > BlockLimits.MaxNameBytes)
        {
            return BlockCheck.Malformed($"NB name is {block.Name.Length} bytes, not 1 to {BlockLimits.MaxNameBytes}");
        }
        if (!block.Salt.IsEmpty || !block.Owner.IsEmpty || block.Version != 0 || block.Deleted || AclBlockValidator.HasAclFields(block))
        {
            return BlockCheck.Malformed("NB carries a field its kind does not have (salt, owner, version, deleted or an ACB/GB field)");
        }
        if (!TryOwnerKey(block, out var key, out var failure) || !HasSignature(block, out failure))
        {
            return failure;
        }
        if (BlockAddresses.Named(block.OwnerKey.Span, block.Name.Span) != address)
        {
            return BlockCheck.Forged("NB address does not match its owner key and name");
        }
        return key.VerifyDigest(BlockSigning.SigningDigest(block), block.Signature.Span)
            ? BlockCheck.Valid
            : BlockCheck.Forged("NB signature does not verify with its owner key");
    }

    private static bool TryOwnerKey(Block block, [NotNullWhen(true)] out MemoPublicKey? key, out BlockCheck failure)
    {
        if (MemoPublicKey.TryFromSpki(block.OwnerKey.Span, out key))
        {
            failure = BlockCheck.Valid;
            return true;
        }
        failure = BlockCheck.Malformed($"{block.Type} owner_key is not a canonical P-256 public key");
        return false;
    }

    private static bool HasSignature(Block block, out BlockCheck failure)
    {
        if (block.Signature.Length == BlockLimits.SignatureBytes)
        {
            failure = BlockCheck.Valid;
            return true;
        }
        failure = block.Signature.IsEmpty
            ? BlockCheck.Malformed($"{block.Type} is not signed")
            : BlockCheck.Malformed($"{block.Type} signature is {block.Signature.Length} bytes, not {BlockLimits.SignatureBytes}");
        return false;
    }

    private static string Truncate(string text) => text.Length <= 16 ? text : text[..16] + "…";
}
