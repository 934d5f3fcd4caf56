namespace Memo.Node.Cluster;

/// <summary>
/// Hard bounds on what one member record may carry (it is read from another member's roles).
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
}
