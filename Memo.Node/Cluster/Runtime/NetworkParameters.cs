namespace Memo.Node.Cluster.Runtime;

/// <summary>
/// The parameters every node of a network shares, fixed when the first node forms the cluster and recorded in each
/// node's data folder: a joining node adopts them from the member that admits it.
/// </summary>
/// <param name="Name">The network's name (peer links and joins across names are refused).</param>
/// <param name="ShardCount">Shards the address space is split into; a node whose data folder has another count
/// cannot join.</param>
/// <param name="ReplicationFactor">Requested replicas per shard; placement clamps it to the Up members.</param>
/// <param name="EvictionDelay">How long a member may stay unreachable before the downing rule downs it.</param>
/// <param name="Timing">The Raft timing every replica shares (see <see cref="RaftTiming"/> for why it must be one).</param>
/// <param name="Policies">How nodes compress and encrypt what they store; null means none (a network from before data
/// policies, or a test that does not care).</param>
/// <param name="Versions">Versions of each key kept (<c>memo.network.versions</c>). One value per network because
/// every node proposes writes: a node keeping fewer would prune the versions the others keep.</param>
/// <param name="Owner">The network owner's key, every passport's root (<c>memo.network.owner</c>); null for a network
/// without an owner. One per network because every shard replica checks key-value writes against it: replicas that
/// disagreed would apply different entries.</param>
/// <param name="Erasure">Erasure coding of large immutable blocks (<c>memo.network.erasure</c>); null means off. One per
/// network because every node writes blocks and rebuilds fragments: nodes that cut a block differently could not
/// read each other's fragments.</param>
public sealed record NetworkParameters(string Name, int ShardCount, int ReplicationFactor, TimeSpan EvictionDelay, RaftTiming Timing,
    Memo.Node.Storage.Policies.DataPolicies? Policies = null, int Versions = 1, Memo.Protocol.Blocks.MemoPublicKey? Owner = null,
    Memo.Node.Erasure.ErasureCoding? Erasure = null)
{
    /// <summary>The erasure-coding policy, <see cref="Memo.Node.Erasure.ErasureCoding.Off"/> when none was given.</summary>
    public Memo.Node.Erasure.ErasureCoding ErasureCoding => Erasure ?? Memo.Node.Erasure.ErasureCoding.Off;

    /// <summary>The data policies, <see cref="Memo.Node.Storage.Policies.DataPolicies.None"/> when none were given.</summary>
    public Memo.Node.Storage.Policies.DataPolicies DataPolicies => Policies ?? Memo.Node.Storage.Policies.DataPolicies.None;
}
