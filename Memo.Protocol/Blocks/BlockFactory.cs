using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Blocks;

/// <summary>
/// Builds and seals blocks. Salts come from the system CSPRNG (they make addresses unguessable, so they are
/// deliberately not from a seeded PRNG). Every block returned by a <c>Make…</c> method other than
/// <see cref="MakeMutableUnsigned"/> passes <see cref="BlockValidator.Validate"/>. Misuse (data over the limit,
/// a key that does not own the block) throws <see cref="ArgumentException"/>.
/// </summary>
public static class BlockFactory
{
    /// <summary>A CHB holding <paramref name="data"/>, owned by <paramref name="owner"/> (or ownerless, hence undeletable, when null).</summary>
    public static Block MakeImmutable(ReadOnlySpan<byte> data, MemoPublicKey? owner) =>
        MakeImmutable(data, owner, RandomNumberGenerator.GetBytes(BlockLimits.SaltBytes));

    /// <summary>
    /// A CHB holding <paramref name="data"/> with the caller's <paramref name="salt"/> (<see cref="BlockLimits.SaltBytes"/>
    /// bytes). The salt must be unguessable: a node derives it from a secret it keeps (a value block's reclaim key).
    /// </summary>
    public static Block MakeImmutable(ReadOnlySpan<byte> data, MemoPublicKey? owner, ReadOnlySpan<byte> salt) =>
        MakeImmutable(data, owner, salt, ByteString.CopyFrom(data));

    /// <summary>
    /// As <see cref="MakeImmutable(ReadOnlySpan{byte}, MemoPublicKey?, ReadOnlySpan{byte})"/>, but the block's data shares
    /// <paramref name="data"/> instead of copying it (a 1 MiB value is then one array, not two): the caller must not
    /// change <paramref name="data"/> while the block is in use.
    /// </summary>
    public static Block MakeImmutableSharing(ReadOnlyMemory<byte> data, MemoPublicKey? owner, ReadOnlySpan<byte> salt) =>
        MakeImmutable(data.Span, owner, salt, UnsafeByteOperations.UnsafeWrap(data));

    private static Block MakeImmutable(ReadOnlySpan<byte> data, MemoPublicKey? owner, ReadOnlySpan<byte> salt, ByteString payload)
    {
        CheckData(data.Length);
        if (salt.Length != BlockLimits.SaltBytes)
        {
            throw new ArgumentException($"A CHB salt is {BlockLimits.SaltBytes} bytes, not {salt.Length}.", nameof(salt));
        }
        var ownerSpki = owner is null ? ReadOnlySpan<byte>.Empty : owner.Spki.Span;
        return new Block
        {
            Type = BlockKinds.ImmutableType,
            Address = Bytes(BlockAddresses.Immutable(salt, ownerSpki, data)),
            Salt = ByteString.CopyFrom(salt),
            Owner = ByteString.CopyFrom(ownerSpki),
            Data = payload,
        };
    }

    /// <summary>
    /// A new OKB at version 0 with a fresh salt and no payload and no signature: what MakeMutableBlock returns for
    /// the client to fill in before Insert (which seals it). Does not pass validation until sealed.
    /// </summary>
    public static Block MakeMutableUnsigned(MemoPublicKey owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var salt = RandomNumberGenerator.GetBytes(BlockLimits.SaltBytes);
        return new Block
        {
            Type = BlockKinds.MutableType,
            Address = Bytes(BlockAddresses.Mutable(owner.Spki.Span, salt)),
            Salt = ByteString.CopyFrom(salt),
            OwnerKey = ByteString.CopyFrom(owner.Spki.Span),
            Version = 0,
        };
    }

    /// <summary>A new signed OKB at version 0 holding <paramref name="data"/>.</summary>
    public static Block MakeMutable(MemoKeyPair owner, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(owner);
        CheckData(data.Length);
        var block = MakeMutableUnsigned(owner.PublicKey);
        block.Data = ByteString.CopyFrom(data);
        Sign(block, owner);
        return block;
    }

    /// <summary>A signed NB for <paramref name="name"/> (1 to <see cref="BlockLimits.MaxNameBytes"/> bytes) holding <paramref name="data"/>.</summary>
    public static Block MakeNamed(MemoKeyPair owner, ReadOnlySpan<byte> name, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(owner);
        CheckData(data.Length);
        if (name.IsEmpty || name.Length > BlockLimits.MaxNameBytes)
        {
            throw new ArgumentException($"A block name is 1 to {BlockLimits.MaxNameBytes} bytes, not {name.Length}.", nameof(name));
        }
        var block = new Block
        {
            Type = BlockKinds.NamedType,
            Address = Bytes(BlockAddresses.Named(owner.PublicKey.Spki.Span, name)),
            Name = ByteString.CopyFrom(name),
            OwnerKey = ByteString.CopyFrom(owner.PublicKey.Spki.Span),
            Data = ByteString.CopyFrom(data),
        };
        Sign(block, owner);
        return block;
    }

    /// <summary>
    /// The next version of the OKB <paramref name="current"/>: a copy with version + 1, <paramref name="data"/> as
    /// payload (in <c>data</c>), not deleted, re-signed. Throws <see cref="ArgumentException"/> when
    /// <paramref name="current"/> is not an OKB owned by <paramref name="owner"/>.
    /// </summary>
    public static Block NextVersion(Block current, ReadOnlySpan<byte> data, MemoKeyPair owner)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(owner);
        CheckData(data.Length);
        if (!current.TryGetKind(out var kind) || kind != BlockKind.Mutable)
        {
            throw new ArgumentException($"Only OKB blocks have versions, not '{current.Type}'.", nameof(current));
        }
        if (!owner.PublicKey.Matches(current.OwnerKey.Span))
        {
            throw new ArgumentException("The key pair does not own this block.", nameof(owner));
        }
        if (current.Version < 0 || current.Version == long.MaxValue)
        {
            throw new ArgumentException($"Version {current.Version} has no successor.", nameof(current));
        }
        var next = current.Clone();
        next.Version = current.Version + 1;
        next.Deleted = false;
        next.Data = ByteString.CopyFrom(data);
        Sign(next, owner);
        return next;
    }

    /// <summary>
    /// Completes a block in place and reports whether it is now valid. For a CHB: generates a salt if there is
    /// none and fills in the address if empty (the block is not signed). For an OKB or NB: fills in the owner key
    /// if empty (an OKB also gets a salt), the address if empty, then signs. The result is <see cref="BlockValidator.Validate"/>
    /// of the completed block, except that a block whose owner key is another key gives
    /// <see cref="BlockCheckOutcome.Forged"/> (the node signs only blocks it owns) and is left unsigned.
    /// </summary>
    public static BlockCheck TrySeal(Block block, MemoKeyPair owner)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(owner);
        if (!block.TryGetKind(out var kind))
        {
            return BlockValidator.Validate(block);
        }
        if (block.GetPayload().Length > BlockLimits.MaxDataBytes)
        {
            return BlockValidator.Validate(block);
        }
        var spki = owner.PublicKey.Spki.Span;
        switch (kind)
        {
            case BlockKind.Acl or BlockKind.Group:
                // Sealed by their owner and editor client-side (AclBlocks, GroupBlocks): a node signs no one's ACL.
                return BlockValidator.Validate(block);

            case BlockKind.Immutable:
                if (block.Salt.IsEmpty)
                {
                    block.Salt = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(BlockLimits.SaltBytes));
                }
                if (block.Address.IsEmpty)
                {
                    block.Address = Bytes(BlockAddresses.Immutable(block.Salt.Span, block.Owner.Span, block.GetPayload().Span));
                }
                return BlockValidator.Validate(block);

            case BlockKind.Mutable:
                if (block.OwnerKey.IsEmpty)
                {
                    block.OwnerKey = ByteString.CopyFrom(spki);
                }
                if (!owner.PublicKey.Matches(block.OwnerKey.Span))
                {
                    return BlockCheck.Forged("the block is owned by another key; only its owner can seal it");
                }
                if (block.Salt.IsEmpty && block.Address.IsEmpty)
                {
                    block.Salt = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(BlockLimits.SaltBytes));
                }
                if (block.Address.IsEmpty)
                {
                    block.Address = Bytes(BlockAddresses.Mutable(block.OwnerKey.Span, block.Salt.Span));
                }
                break;

            default:
                if (block.OwnerKey.IsEmpty)
                {
                    block.OwnerKey = ByteString.CopyFrom(spki);
                }
                if (!owner.PublicKey.Matches(block.OwnerKey.Span))
                {
                    return BlockCheck.Forged("the block is owned by another key; only its owner can seal it");
                }
                if (block.Address.IsEmpty)
                {
                    block.Address = Bytes(BlockAddresses.Named(block.OwnerKey.Span, block.Name.Span));
                }
                break;
        }
        Sign(block, owner);
        return BlockValidator.Validate(block);
    }

    /// <summary>
    /// <see cref="TrySeal"/>, throwing <see cref="ArgumentException"/> (with the validator's reason) when the
    /// completed block is not valid. Use <see cref="TrySeal"/> on blocks that come from clients.
    /// </summary>
    public static void Seal(Block block, MemoKeyPair owner)
    {
        var check = TrySeal(block, owner);
        if (!check.IsValid)
        {
            throw new ArgumentException($"The block cannot be sealed: {check}.", nameof(block));
        }
    }

    /// <summary>
    /// The owner's signature authorising removal of <paramref name="stored"/>: of this creation of the block (and, for
    /// an OKB, of this version) only, so it cannot remove the block once it is created again (<see cref="BlockSigning.RemovalBytes"/>).
    /// Throws <see cref="ArgumentException"/> when the key pair does not own the block (an ownerless CHB has no owner).
    /// </summary>
    public static byte[] RemovalSignature(Block stored, MemoKeyPair owner)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(owner);
        if (!stored.TryGetKind(out _))
        {
            throw new ArgumentException($"Unknown block type '{stored.Type}'.", nameof(stored));
        }
        if (!owner.PublicKey.Matches(stored.GetOwnerSpki().Span))
        {
            throw new ArgumentException("The key pair does not own this block.", nameof(owner));
        }
        return owner.Sign(BlockSigning.RemovalBytes(stored));
    }

    private static void Sign(Block block, MemoKeyPair owner) =>
        block.Signature = ByteString.CopyFrom(owner.SignDigest(BlockSigning.SigningDigest(block)));

    private static void CheckData(int length)
    {
        if (length > BlockLimits.MaxDataBytes)
        {
            throw new ArgumentException($"Block data is {length} bytes, more than {BlockLimits.MaxDataBytes}.", "data");
        }
    }

    private static ByteString Bytes(BlockAddress address) => ByteString.CopyFrom(address.ToArray());
}
