using Memo.Protocol.Blocks;

namespace Memo.Protocol.Acl;

/// <summary>One user's rights on an ACB: an entry of its ACL (memo's <c>ACLEntry</c> without the wrapped key).</summary>
/// <param name="User">The user's public key.</param>
/// <param name="Read">The data key is wrapped for the user on every write.</param>
/// <param name="Write">The user may sign new versions of the data (not of the ACL, which only the owner signs).</param>
public sealed record AclGrant(MemoPublicKey User, bool Read, bool Write);
