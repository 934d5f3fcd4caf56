namespace Memo.Node.Cluster;

/// <summary>
/// Hard bounds on what one member record may carry, so that a state received by gossip has a bounded size.
/// Configurable limits (members per cluster, virtual nodes per member) are in <see cref="ClusterOptions"/>.
/// </summary>
public static class MembershipLimits
{
    /// <summary>Longest <c>host:port</c> address: a DNS name (253) plus a port.</summary>
    public const int MaxAddressLength = 260;

    /// <summary>Most ring tokens (virtual nodes) one member may own.</summary>
    public const int MaxTokensPerMember = 1024;

    /// <summary>Most roles one member may carry.</summary>
    public const int MaxRolesPerMember = 32;

    /// <summary>Longest role name: room for <c>remote=</c> and the longest address.</summary>
    public const int MaxRoleLength = 300;

    /// <summary>Most member records (live and tombstones) a state may hold; above any configured member limit.</summary>
    public const int MaxMemberRecords = 65536;
}
