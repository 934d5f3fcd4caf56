using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Client;

/// <summary>An ACB as a user fetched it: the verified block and its data, or null data when the user cannot read this version.</summary>
/// <param name="Block">The block as stored (validated against its address).</param>
/// <param name="Data">The decrypted data; null when the user is neither the owner, a reader, nor a member of a readable group's generation this version was wrapped for, or the block is a tombstone.</param>
public sealed record AclBlockContent(Block Block, byte[]? Data)
{
    /// <summary>True when <see cref="Data"/> was decrypted.</summary>
    public bool Readable => Data is not null;
}
