using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Blocks;

// The update rules of ACBs and GBs, beyond the version rule every versioned block follows. The incoming block has
// passed BlockValidator (both ACB signatures verify, the editor may write, or the GB owner's signature verifies), so
// what is left is what only the stored block can tell:
//
//   ACB  acl_version < stored                         -> Rejected(PermissionDenied): an older owner-signed ACL
//                                                        replayed (a removed writer restoring its right)
//        acl_version = stored, ACL bytes differ       -> Rejected(PermissionDenied): a changed ACL needs a new ACL
//                                                        version signed by the owner
//        acl_version > stored + 1                     -> Rejected(InvalidArgument): ACL versions count by one
//        acl_version = stored + 1, editor not owner   -> Rejected(PermissionDenied): the owner stores its ACL changes,
//                                                        so a writer cannot apply a signed ACL that lost a race
//        otherwise                                    -> Store
//   GB   a stored generation dropped or its key changed -> Rejected(PermissionDenied): generations are append-only,
//                                                        so ACB versions wrapped for an old generation keep opening
//        otherwise                                    -> Store
//
// A tombstone is an ACB update like any other (version + 1), with deleted set; BlockValidator makes sure its owner
// signed it, so a tombstone at a lower version is a Conflict and a tombstone signed by anyone else is forged.

public static partial class BlockWriteRules
{
    private static BlockWriteDecision DecideAclUpdate(Block incoming, Block stored, BlockAddress address)
    {
        if (incoming.AclVersion < stored.AclVersion)
        {
            return Reject(BlockRejection.PermissionDenied, $"ACL rollback at {address}: ACL version {incoming.AclVersion} is older than the stored {stored.AclVersion}");
        }
        if (incoming.AclVersion == stored.AclVersion)
        {
            return AclSigning.AclDigest(incoming).AsSpan().SequenceEqual(AclSigning.AclDigest(stored))
                ? new BlockWriteDecision.Store()
                : Reject(BlockRejection.PermissionDenied, $"the ACL of {address} changed without a new ACL version signed by its owner");
        }
        if (incoming.AclVersion != stored.AclVersion + 1)
        {
            return Reject(BlockRejection.InvalidArgument, $"ACL version {incoming.AclVersion} of {address} skips from the stored {stored.AclVersion}; each ACL change adds one");
        }
        // The owner stores its own ACL changes: an owner-signed ACL that lost a version race cannot be applied later by
        // a writer it lists.
        return incoming.EditorKey.IsEmpty
            ? new BlockWriteDecision.Store()
            : Reject(BlockRejection.PermissionDenied, $"the ACL of {address} changes only in a version its owner writes (the editor is not the owner)");
    }

    private static BlockWriteDecision DecideGroupUpdate(Block incoming, Block stored, BlockAddress address)
    {
        if (incoming.GroupGenerations.Count < stored.GroupGenerations.Count)
        {
            return Reject(BlockRejection.PermissionDenied, $"the group {address} would drop generations ({incoming.GroupGenerations.Count} < {stored.GroupGenerations.Count}); generations are append-only");
        }
        for (var i = 0; i < stored.GroupGenerations.Count; i++)
        {
            if (!incoming.GroupGenerations[i].PublicKey.Equals(stored.GroupGenerations[i].PublicKey))
            {
                return Reject(BlockRejection.PermissionDenied, $"the group {address} would change the key of generation {i}; generations are append-only");
            }
        }
        return new BlockWriteDecision.Store();
    }
}
