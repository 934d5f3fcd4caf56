using Memo.Protocol.Blocks;

namespace Memo.Protocol.Acl;

/// <summary>
/// Who may read and write an ACB, as its owner signs it: user grants, readable groups (group block addresses) and
/// the world flags. The owner always reads and writes and is never listed. Immutable; the <c>With…</c> methods return
/// changed copies.
/// </summary>
/// <param name="Users">User grants, in the order they are stored (one per user).</param>
/// <param name="Groups">Groups whose members may read (groups grant reading only).</param>
/// <param name="WorldReadable">Anyone may read: the data is then stored unencrypted.</param>
/// <param name="WorldWritable">Anyone may sign new versions of the data.</param>
public sealed record AccessList(IReadOnlyList<AclGrant> Users, IReadOnlyList<BlockAddress> Groups, bool WorldReadable = false, bool WorldWritable = false)
{
    /// <summary>Only the owner reads and writes.</summary>
    public static AccessList OwnerOnly { get; } = new([], []);

    /// <summary>This list with <paramref name="grant"/> replacing any grant of the same user (appended when new).</summary>
    public AccessList With(AclGrant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var users = Users.ToList();
        var at = users.FindIndex(g => g.User.Equals(grant.User));
        if (at >= 0)
        {
            users[at] = grant;
        }
        else
        {
            users.Add(grant);
        }
        return this with { Users = users };
    }

    /// <summary>This list without <paramref name="user"/>'s grant.</summary>
    public AccessList Without(MemoPublicKey user) => this with { Users = [.. Users.Where(g => !g.User.Equals(user))] };

    /// <summary>This list with <paramref name="group"/> readable (unchanged when it already is).</summary>
    public AccessList WithGroup(BlockAddress group) => Groups.Contains(group) ? this : this with { Groups = [.. Groups, group] };

    /// <summary>This list without <paramref name="group"/>.</summary>
    public AccessList WithoutGroup(BlockAddress group) => this with { Groups = [.. Groups.Where(g => g != group)] };
}
