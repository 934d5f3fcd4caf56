using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Client;

// Access-controlled (ACB) and group (GB) blocks as a given user: the user's key pair signs and decrypts here, in the
// client; the node only stores what replicas validate. Each change reads the block, builds the next version
// (AclBlocks, GroupBlocks) and stores it with Update, whose version rule turns a concurrent writer into a Conflict.
public sealed partial class MemoClient
{
    /// <summary>
    /// Creates and stores a new ACB owned by <paramref name="owner"/> holding <paramref name="data"/>, readable and
    /// writable as <paramref name="access"/> says (the group blocks it names are fetched to wrap the data key for them).
    /// </summary>
    /// <exception cref="ArgumentException">A group of <paramref name="access"/> is missing or not a group block.</exception>
    public async Task<Block> CreateAclBlockAsync(MemoKeyPair owner, ReadOnlyMemory<byte> data, AccessList access, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(access);
        var groups = await FetchGroupsAsync(access.Groups, cancellationToken).ConfigureAwait(false);
        var block = AclBlocks.Create(owner, data.Span, access, groups);
        await InsertBlockAsync(block, cancellationToken).ConfigureAwait(false);
        return block;
    }

    /// <summary>
    /// The ACB at <paramref name="address"/> decrypted as <paramref name="user"/> (fetching the groups it names), or null
    /// when there is no block there. <see cref="AclBlockContent.Data"/> is null when the user may not read this version.
    /// </summary>
    /// <exception cref="ArgumentException">The block there is not an ACB.</exception>
    public async Task<AclBlockContent?> ReadAclBlockAsync(BlockAddress address, MemoKeyPair user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        var block = await FetchAclAsync(address, cancellationToken).ConfigureAwait(false);
        if (block is null)
        {
            return null;
        }
        var groups = await FetchGroupsAsync(AclBlocks.GroupsOf(block), cancellationToken).ConfigureAwait(false);
        return new AclBlockContent(block, AclBlocks.TryRead(block, user, groups, out var data) ? data : null);
    }

    /// <summary>
    /// Stores <paramref name="data"/> as the next version of the ACB at <paramref name="address"/>, signed by
    /// <paramref name="editor"/> (its owner, an ACL writer, or anyone when world-writable). Null when there is no
    /// block there.
    /// </summary>
    /// <exception cref="ArgumentException">The block is not an ACB, was removed, or <paramref name="editor"/> may not write it.</exception>
    public async Task<BlockUpdateResult?> WriteAclBlockAsync(BlockAddress address, MemoKeyPair editor, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var current = await FetchAclAsync(address, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return null;
        }
        var groups = await FetchGroupsAsync(AclBlocks.GroupsOf(current), cancellationToken).ConfigureAwait(false);
        return await UpdateBlockAsync(AclBlocks.Edit(current, editor, data.Span, groups), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes the ACL of the ACB at <paramref name="address"/> as its <paramref name="owner"/>: <paramref name="change"/>
    /// maps the current ACL to the new one, which the owner signs (ACL version + 1) with the data sealed again for the
    /// new readers. Null when there is no block there.
    /// </summary>
    /// <exception cref="ArgumentException">The block is not an ACB, was removed, or <paramref name="owner"/> does not own it.</exception>
    public async Task<BlockUpdateResult?> ChangeAclAsync(BlockAddress address, MemoKeyPair owner, Func<AccessList, AccessList> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(change);
        var current = await FetchAclAsync(address, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return null;
        }
        if (current.Deleted)
        {
            throw new ArgumentException($"The ACB at {address} was removed (version {current.Version} is its tombstone).", nameof(address));
        }
        var access = change(AclBlocks.AccessOf(current));
        var groups = await FetchGroupsAsync([.. access.Groups.Union(AclBlocks.GroupsOf(current))], cancellationToken).ConfigureAwait(false);
        if (!owner.PublicKey.Matches(current.OwnerKey.Span) || !AclBlocks.TryRead(current, owner, groups, out var data))
        {
            throw new ArgumentException($"Only the owner of {address} changes its ACL.", nameof(owner));
        }
        return await UpdateBlockAsync(AclBlocks.ChangeAccess(current, owner, access, data, groups), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores the owner's tombstone of the ACB at <paramref name="address"/> (the next version, deleted). Null when there is no block there.</summary>
    public async Task<BlockUpdateResult?> RemoveAclBlockAsync(BlockAddress address, MemoKeyPair owner, CancellationToken cancellationToken = default)
    {
        var current = await FetchAclAsync(address, cancellationToken).ConfigureAwait(false);
        return current is null ? null : await UpdateBlockAsync(AclBlocks.Tombstone(current, owner), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates and stores a group block (GB) owned by <paramref name="owner"/> with <paramref name="members"/> (the owner is always one).</summary>
    public async Task<Block> CreateGroupAsync(MemoKeyPair owner, IEnumerable<MemoPublicKey> members, CancellationToken cancellationToken = default)
    {
        var block = GroupBlocks.Create(owner, members);
        await InsertBlockAsync(block, cancellationToken).ConfigureAwait(false);
        return block;
    }

    /// <summary>Adds <paramref name="member"/> to the newest generation of the group at <paramref name="address"/>. Null when there is no block there.</summary>
    public async Task<BlockUpdateResult?> AddGroupMemberAsync(BlockAddress address, MemoKeyPair owner, MemoPublicKey member, CancellationToken cancellationToken = default)
    {
        var current = await FetchBlockAsync(address, cancellationToken).ConfigureAwait(false);
        return current is null ? null : await UpdateBlockAsync(GroupBlocks.AddMember(current, owner, member), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes <paramref name="member"/> from the group at <paramref name="address"/>: a new generation of the group key
    /// for the others. ACB versions written afterwards are wrapped for it; earlier ones stay readable by the removed
    /// member. Null when there is no block there.
    /// </summary>
    public async Task<BlockUpdateResult?> RemoveGroupMemberAsync(BlockAddress address, MemoKeyPair owner, MemoPublicKey member, CancellationToken cancellationToken = default)
    {
        var current = await FetchBlockAsync(address, cancellationToken).ConfigureAwait(false);
        return current is null ? null : await UpdateBlockAsync(GroupBlocks.RemoveMember(current, owner, member), cancellationToken).ConfigureAwait(false);
    }

    private async Task<Block?> FetchAclAsync(BlockAddress address, CancellationToken cancellationToken)
    {
        var block = await FetchBlockAsync(address, cancellationToken).ConfigureAwait(false);
        if (block is not null && block.Type != BlockKinds.AclType)
        {
            throw new ArgumentException($"The block at {address} is {block.Type}, not an ACB.", nameof(address));
        }
        return block;
    }

    // The group blocks an ACL names, as stored now (a missing one is left out: TryRead skips it, Create and Edit say so).
    private async Task<Dictionary<BlockAddress, Block>> FetchGroupsAsync(IReadOnlyList<BlockAddress> addresses, CancellationToken cancellationToken)
    {
        var groups = new Dictionary<BlockAddress, Block>();
        foreach (var address in addresses)
        {
            if (await FetchBlockAsync(address, cancellationToken).ConfigureAwait(false) is { } group)
            {
                groups[address] = group;
            }
        }
        return groups;
    }
}
