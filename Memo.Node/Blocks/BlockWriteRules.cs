using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Blocks;

// Design note: the write rules of the value store.
//
// Each shard's state machine applies committed Raft entries (insert, update, delete, reclaim) to its stored blocks.
// The decision must be a pure function of (command, stored block) so every replica reaches the same state from the
// same log: no clock, no randomness, no I/O. Signature checks and hashes are deterministic, so they run here.
//
// The rules trust nothing about who proposed the command: the API validates blocks before proposing, but a command
// can also reach a shard group through the node-internal shard service or a faulty or hostile member, so the full
// BlockValidator check (structure, content address, owner signature) runs again at apply. Its cost is one hash of
// the payload and, for OKB/NB, one ECDSA verification per replica.
//
//   insert  incoming malformed                       -> Rejected(InvalidArgument)
//           incoming forged (address, signature)     -> Rejected(PermissionDenied)
//           new address                              -> Store
//           existing CHB, identical                  -> AlreadyStored (content-addressed: idempotent)
//           existing anything else                   -> AlreadyExists (OKB changes only via update; NB is write-once)
//   update  incoming malformed or forged             -> Rejected(InvalidArgument / PermissionDenied)
//           incoming not an OKB, ACB or GB           -> Rejected(InvalidArgument)
//           nothing stored                           -> NotFound
//           stored of another kind                   -> Rejected(InvalidArgument)
//           owner key differs                        -> Rejected(PermissionDenied)
//           stored ACB is a tombstone                -> Rejected(InvalidArgument): a removed ACB stays removed
//           version != stored + 1                    -> Conflict(stored) (a lost race, a replay or a rollback)
//           ACB: the ACL rules (BlockWriteRules.Acl.cs); GB: generations append-only
//           otherwise                                -> Store
//   delete  nothing stored                           -> NotFound
//           ownerless CHB                            -> Rejected(PermissionDenied): nobody can prove a right to it
//           ACB                                      -> Rejected(InvalidArgument): removed by its owner's tombstone
//           removal signature absent or bad          -> Rejected(PermissionDenied)
//           otherwise                                -> Remove
//   reclaim nothing stored                           -> NotFound
//           not an owned CHB, or the reclaim key     -> Rejected(PermissionDenied)
//           does not unlock it (ReclaimKeys)
//           otherwise                                -> Remove
//
// A stored block at another address than the command's is a caller bug (the state machine looked up the wrong
// key) and throws: continuing would corrupt the replica.

/// <summary>Pure, deterministic rules deciding a block write against the currently stored block.</summary>
public static partial class BlockWriteRules
{
    /// <summary>
    /// Decides an insert of <paramref name="incoming"/> given the block stored at its address, if any. The block is
    /// validated in full (<see cref="BlockValidator.Validate"/>) first, whoever sent it.
    /// </summary>
    public static BlockWriteDecision DecideInsert(Block incoming, Block? stored)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        if (!TryValidate(incoming, out var kind, out var address, out var rejected))
        {
            return rejected;
        }
        if (stored is null)
        {
            return new BlockWriteDecision.Store();
        }
        CheckStoredAt(stored, address);
        if (kind == BlockKind.Immutable && IsSameImmutable(incoming, stored))
        {
            return new BlockWriteDecision.AlreadyStored();
        }
        return new BlockWriteDecision.AlreadyExists();
    }

    /// <summary>
    /// Decides an update to <paramref name="incoming"/> (an OKB) given the block stored at its address, if any. The
    /// block is validated in full (<see cref="BlockValidator.Validate"/>) first, whoever sent it.
    /// </summary>
    public static BlockWriteDecision DecideUpdate(Block incoming, Block? stored)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        if (!TryValidate(incoming, out var kind, out var address, out var rejected))
        {
            return rejected;
        }
        if (!kind.IsVersioned())
        {
            return Reject(BlockRejection.InvalidArgument, $"only mutable (OKB, ACB, GB) blocks can be updated, not {incoming.Type}");
        }
        if (stored is null)
        {
            return new BlockWriteDecision.NotFound();
        }
        CheckStoredAt(stored, address);
        if (!stored.TryGetKind(out var storedKind) || storedKind != kind)
        {
            return Reject(BlockRejection.InvalidArgument, $"the block at {address} is {stored.Type}, not {incoming.Type}");
        }
        if (!incoming.OwnerKey.Equals(stored.OwnerKey))
        {
            return Reject(BlockRejection.PermissionDenied, $"the update is signed by another key than the owner of {address}");
        }
        if (kind == BlockKind.Acl && stored.Deleted)
        {
            return Reject(BlockRejection.InvalidArgument, $"the ACB at {address} was removed (its tombstone is version {stored.Version})");
        }
        if (stored.Version == long.MaxValue || incoming.Version != stored.Version + 1)
        {
            return new BlockWriteDecision.Conflict(stored);
        }
        return kind switch
        {
            BlockKind.Acl => DecideAclUpdate(incoming, stored, address),
            BlockKind.Group => DecideGroupUpdate(incoming, stored, address),
            _ => new BlockWriteDecision.Store(),
        };
    }

    /// <summary>
    /// Decides the removal of the block at <paramref name="address"/> given the owner's
    /// <paramref name="removalSignature"/> (<see cref="BlockFactory.RemovalSignature"/>) and the stored block, if any.
    /// </summary>
    public static BlockWriteDecision DecideDelete(BlockAddress address, ReadOnlySpan<byte> removalSignature, Block? stored)
    {
        if (stored is null)
        {
            return new BlockWriteDecision.NotFound();
        }
        CheckStoredAt(stored, address);
        if (stored.TryGetKind(out var kind) && kind == BlockKind.Immutable && stored.Owner.IsEmpty)
        {
            return Reject(BlockRejection.PermissionDenied, $"{address} is an ownerless immutable block, which cannot be deleted");
        }
        if (kind == BlockKind.Acl)
        {
            // Removing the record would let an old, validly signed version be inserted again (a rollback); the tombstone stays.
            return Reject(BlockRejection.InvalidArgument, $"{address} is an ACB: its owner removes it with a tombstone (an update with deleted set, version + 1)");
        }
        if (removalSignature.IsEmpty)
        {
            return Reject(BlockRejection.PermissionDenied, $"deleting {address} needs its owner's removal signature");
        }
        if (!BlockValidator.VerifyRemoval(stored, removalSignature))
        {
            return Reject(BlockRejection.PermissionDenied, $"the removal signature for {address} does not verify with its owner's key");
        }
        return new BlockWriteDecision.Remove();
    }

    /// <summary>
    /// Decides the reclaim of the value block at <paramref name="address"/> given the <paramref name="reclaimKey"/>
    /// its entry held (<see cref="ReclaimKeys"/>) and the stored block, if any.
    /// </summary>
    public static BlockWriteDecision DecideReclaim(BlockAddress address, ReadOnlySpan<byte> reclaimKey, Block? stored)
    {
        if (stored is null)
        {
            return new BlockWriteDecision.NotFound();
        }
        CheckStoredAt(stored, address);
        if (!stored.TryGetKind(out var kind) || kind != BlockKind.Immutable || stored.Owner.IsEmpty)
        {
            return Reject(BlockRejection.PermissionDenied, $"{address} is not an owned immutable value block; only its owner's removal signature deletes it");
        }
        if (!ReclaimKeys.Unlocks(stored, reclaimKey))
        {
            return Reject(BlockRejection.PermissionDenied, $"the reclaim of {address} carries no key that unlocks it (its entry's reclaim key)");
        }
        return new BlockWriteDecision.Remove();
    }

    // The full check: structure, sizes, content address and signature (BlockValidator), so what the API would refuse
    // cannot be stored by a command sent around it.
    private static bool TryValidate(Block incoming, out BlockKind kind, out BlockAddress address, out BlockWriteDecision rejected)
    {
        address = default;
        kind = default;
        rejected = null!;
        var check = BlockValidator.Validate(incoming);
        if (!check.IsValid)
        {
            rejected = check.Outcome == BlockCheckOutcome.Malformed
                ? Reject(BlockRejection.InvalidArgument, $"malformed block: {check.Reason}")
                : Reject(BlockRejection.PermissionDenied, $"block rejected: {check.Reason}");
            return false;
        }
        // Valid implies a known kind and a 32-byte address.
        incoming.TryGetKind(out kind);
        incoming.TryGetAddress(out address);
        return true;
    }

    private static void CheckStoredAt(Block stored, BlockAddress address)
    {
        if (!stored.TryGetAddress(out var storedAddress) || storedAddress != address)
        {
            throw new InvalidOperationException(
                $"Invariant violated: the stored block looked up for {address} is at {(storedAddress == default ? "an invalid address" : storedAddress)}.");
        }
    }

    // Same address already implies the same content for valid CHBs; comparing the hashed fields guards against a
    // corrupted store being reported as success.
    private static bool IsSameImmutable(Block incoming, Block stored) =>
        stored.TryGetKind(out var kind) && kind == BlockKind.Immutable
        && incoming.Salt.Equals(stored.Salt)
        && incoming.Owner.Equals(stored.Owner)
        && incoming.GetPayload().Equals(stored.GetPayload());

    private static BlockWriteDecision.Rejected Reject(BlockRejection kind, string reason) => new(kind, reason);
}
