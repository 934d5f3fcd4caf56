namespace Memo.Node.Cluster.Runtime;

/// <summary>Where the runtime records the network parameters and the last membership state it knew, so a restart
/// resumes the membership instead of forming or joining again.</summary>
public interface IClusterStore
{
    /// <summary>Records the parameters and the state durably.</summary>
    ValueTask SaveAsync(NetworkParameters network, MembershipState state, CancellationToken cancellationToken);
}
