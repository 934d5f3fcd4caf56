namespace Memo.Node.Shards.Replicated;

/// <summary>
/// What a shard replica may do without its actor between two turns, published by the actor at each turn's end and taken
/// down when the next starts. Each state allows what the one before it does.
/// </summary>
internal enum ReplicaRest
{
    /// <summary>A turn is running, the incarnation stopped, or the replica leads with other voters or follows: reads take
    /// a turn and every tick wakes the actor.</summary>
    Working = 0,

    /// <summary>The group's only voter, leading, with everything committed applied and stored: a linearizable read may
    /// skip the turn (<see cref="ShardGroupReplica.TryReadAlone"/>).</summary>
    ServesReadsAlone = 1,

    /// <summary>As <see cref="ServesReadsAlone"/>, with no learner and no read, proposal or write pending: a tick could
    /// move nothing, so the tick timer only counts it and the next input's turn steps it.</summary>
    IdleUnderTicks = 2,
}
