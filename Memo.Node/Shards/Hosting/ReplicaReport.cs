using Memo.Node.Raft;

namespace Memo.Node.Shards.Hosting;

/// <summary>
/// What one node said about its replica of one shard, and when this node heard it (for freshness). <paramref name="Usage"/>
/// is that node's last count of what the replica holds; null before its first count (or from an older node).
/// </summary>
public sealed record ReplicaReport(
    ShardId Shard,
    NodeId Node,
    bool IsLeader,
    NodeId Leader,
    Term Term,
    LogIndex Applied,
    RaftMembership Membership,
    DateTime ReceivedUtc,
    Memo.Node.Storage.SiloShardUsage? Usage = null);
