namespace Memo.Node.Cluster.Runtime;

/// <summary>Where the membership records the remoting endpoints of the cluster's members, so a restart rejoins through
/// them instead of forming a cluster alone.</summary>
public interface IClusterStore
{
    /// <summary>Records the endpoints (host:port) durably, replacing the previous list.</summary>
    ValueTask SaveMembersAsync(IReadOnlyList<string> remoteAddresses, CancellationToken cancellationToken);
}
