namespace Memo.Protocol.Blocks;

/// <summary>
/// The block kinds this node understands. Values are explicit because they may be persisted;
/// the wire form is the <c>type</c> string ("CHB", "OKB", "NB", "ACB", "GB"), see <see cref="BlockKinds"/>.
/// </summary>
public enum BlockKind
{
    /// <summary>Content-hashed block ("CHB"): address = hash of its content, self-certifying.</summary>
    Immutable = 1,

    /// <summary>Owner-key block ("OKB"): versioned, every version signed by its owner.</summary>
    Mutable = 2,

    /// <summary>Named block ("NB"): address derived from owner and name, write-once, signed.</summary>
    Named = 3,

    /// <summary>
    /// Access-controlled block ("ACB", memo's ACL block): versioned like an OKB, its ACL signed by the owner, its data
    /// encrypted for its readers and signed by its editor (the owner or an ACL writer). See <c>AclBlockValidator</c>.
    /// </summary>
    Acl = 4,

    /// <summary>
    /// Group block ("GB", memo's): versioned and owner-signed like an OKB, it holds the generations of a group key,
    /// each generation's private key wrapped for that generation's members.
    /// </summary>
    Group = 5,
}
