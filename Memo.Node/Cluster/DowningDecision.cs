using System.Collections.Immutable;

namespace Memo.Node.Cluster;

/// <summary>What the downing rule (<see cref="DowningDecider"/>) tells one node to do about unreachable members.</summary>
public abstract record DowningDecision
{
    private DowningDecision()
    {
    }

    /// <summary>Nothing to decide: no live member is unreachable (or this node is not a member yet).</summary>
    public sealed record Stable : DowningDecision;

    /// <summary>Members are unreachable but not all for the eviction delay yet; decide again at
    /// <paramref name="DecideAtMillis"/> (logical milliseconds) if nothing changes before.</summary>
    public sealed record Wait(long DecideAtMillis) : DowningDecision;

    /// <summary>This node's side holds the majority (or wins the tie): mark <paramref name="Members"/> Down.</summary>
    public sealed record Down(ImmutableSortedSet<NodeId> Members) : DowningDecision;

    /// <summary>This node's side must give way: leave the others alone, stop serving, wait to be downed.</summary>
    public sealed record StopServing(StopServingReason Reason) : DowningDecision;
}
