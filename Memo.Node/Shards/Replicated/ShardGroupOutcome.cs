using Memo.Node.Raft;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// How a request to a <see cref="ShardGroupReplica"/> ended. Every expected outcome is a value (the router
/// decides what to do with it); only bugs, I/O faults and a stopped replica surface as exceptions.
/// </summary>
public abstract record ShardGroupOutcome
{
    private ShardGroupOutcome() { }

    /// <summary>The command was committed and applied here; <paramref name="Result"/> is the state machine's decision.</summary>
    public sealed record Applied(ShardResult Result, LogIndex Index) : ShardGroupOutcome;

    /// <summary>
    /// The command is durable in this leader's log at <paramref name="Index"/> but not yet committed: the early
    /// acknowledgement of an async write (<see cref="ShardGroupReplica.ProposeAcknowledgedAtAppend"/>). It is lost if this
    /// leader fails before a majority holds it; its final outcome follows separately.
    /// </summary>
    public sealed record Appended(LogIndex Index) : ShardGroupOutcome;

    /// <summary>
    /// A linearizable read may proceed: this replica was the leader when the read was confirmed and has applied
    /// through <paramref name="Index"/>, so the silo now holds every write acknowledged before the read began.
    /// </summary>
    public sealed record ReadReady(LogIndex Index) : ShardGroupOutcome;

    /// <summary>The membership change was committed at <paramref name="Index"/>; <paramref name="Membership"/> is the group's configuration now.</summary>
    public sealed record MembershipChanged(ConfigChange Change, LogIndex Index, RaftMembership Membership) : ShardGroupOutcome;

    /// <summary>The leader started handing leadership to <paramref name="Target"/> (it completes or is abandoned after an election timeout).</summary>
    public sealed record TransferStarted(NodeId Target) : ShardGroupOutcome;

    /// <summary>
    /// This replica is not the leader: nothing was done. <paramref name="LeaderHint"/> is the leader as known
    /// here (<see cref="NodeId.None"/> when unknown, e.g. during an election); retry there.
    /// </summary>
    public sealed record NotLeader(NodeId LeaderHint) : ShardGroupOutcome;

    /// <summary>Refused for now and not done (a limit, a transfer or membership change in progress, a read not confirmed in time); retry later.</summary>
    public sealed record Dropped(string Reason) : ShardGroupOutcome;

    /// <summary>The request is invalid (an impossible membership change, a command the state machine refuses); retrying will not help.</summary>
    public sealed record Invalid(string Reason) : ShardGroupOutcome;

    /// <summary>
    /// The proposal was appended but another entry was committed at its index (leadership changed): it was
    /// not applied and never will be, so it is safe to retry.
    /// </summary>
    public sealed record Superseded(LogIndex Index) : ShardGroupOutcome;

    /// <summary>
    /// The proposal's index was covered by a snapshot installed from a new leader before this replica saw the
    /// entry: it may or may not have been applied. A router must read back before retrying a non-idempotent write.
    /// </summary>
    public sealed record Unknown(LogIndex Index) : ShardGroupOutcome;

    internal static ShardGroupOutcome From(ProposeResult result) => result.Outcome switch
    {
        ProposeOutcome.NotLeader => new NotLeader(result.LeaderHint),
        ProposeOutcome.Dropped => new Dropped(result.Reason ?? "dropped"),
        ProposeOutcome.Invalid => new Invalid(result.Reason ?? "invalid"),
        _ => throw new ArgumentException($"{result} is not a refusal", nameof(result)),
    };
}
