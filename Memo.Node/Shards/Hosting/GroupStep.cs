namespace Memo.Node.Shards.Hosting;

/// <summary>One configuration change a shard group's leader makes towards the ring's replica set.</summary>
public abstract record GroupStep
{
    private GroupStep() { }

    /// <summary>Add a node the ring names as a learner (it catches up by snapshot).</summary>
    public sealed record AddLearner(NodeId Node, string Address) : GroupStep;

    /// <summary>Promote a caught-up learner to voter.</summary>
    public sealed record Promote(NodeId Node) : GroupStep;

    /// <summary>Remove a member the ring no longer names.</summary>
    public sealed record Remove(NodeId Node) : GroupStep;

    /// <summary>This leader is to be removed: hand leadership to a caught-up voter the ring names first.</summary>
    public sealed record TransferLeadership(NodeId Target) : GroupStep;
}
