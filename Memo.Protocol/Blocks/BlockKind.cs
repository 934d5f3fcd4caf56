namespace Memo.Protocol.Blocks;

/// <summary>
/// The block kinds this node understands. Values are explicit because they may be persisted;
/// the wire form is the <c>type</c> string ("CHB", "OKB", "NB"), see <see cref="BlockKinds"/>.
/// </summary>
public enum BlockKind
{
    /// <summary>Content-hashed block ("CHB"): address = hash of its content, self-certifying.</summary>
    Immutable = 1,

    /// <summary>Owner-key block ("OKB"): versioned, every version signed by its owner.</summary>
    Mutable = 2,

    /// <summary>Named block ("NB"): address derived from owner and name, write-once, signed.</summary>
    Named = 3,
}
