using Akka.Event;
using Memo.Node.Raft;

namespace Memo.Node.Shards.Replicated;

// The replica actor's inputs and messages. They never leave the process (the facade queues inputs for the actor of its
// own node; Raft messages between nodes travel as bytes in PeerMessages), so they carry completion sources and need no
// serializer.

/// <summary>An input the replica actor takes from its <see cref="ReplicaInbox"/> (bounded by <see cref="ShardGroupOptions.MailboxCapacity"/>).</summary>
internal abstract class ReplicaInput;

/// <summary>A caller's request, answered with an outcome through <see cref="Completion"/>.</summary>
internal abstract class ReplicaRequest : ReplicaInput
{
    public TaskCompletionSource<ShardGroupOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

internal sealed class ProposeInput(byte[] data, TaskCompletionSource<ShardGroupOutcome>? appended = null) : ReplicaRequest
{
    public byte[] Data { get; } = data;

    /// <summary>An async write's early acknowledgement: completed with <see cref="ShardGroupOutcome.Appended"/> once the
    /// leader's log holds the command durably, or with the final outcome when that comes first. Null for every other
    /// proposal, which costs the replica nothing more than this null check.</summary>
    public TaskCompletionSource<ShardGroupOutcome>? Appended { get; } = appended;
}

internal sealed class ReadInput : ReplicaRequest;

internal sealed class ConfigInput(ConfigChange change, string? address) : ReplicaRequest
{
    public ConfigChange Change { get; } = change;
    public string? Address { get; } = address;
}

internal sealed class TransferInput(NodeId target) : ReplicaRequest
{
    public NodeId Target { get; } = target;
}

/// <summary>Asks for the Raft core's full status.</summary>
internal sealed class StatusInput : ReplicaInput
{
    public TaskCompletionSource<RaftStatus> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A Raft message from a peer, still encoded.</summary>
internal sealed class InboundInput(NodeId from, ReadOnlyMemory<byte> body) : ReplicaInput
{
    public NodeId From { get; } = from;
    public ReadOnlyMemory<byte> Body { get; } = body;
}

// The actor's own messages are IDeadLetterSuppression: a wake or a commit's end that reaches an incarnation that just
// stopped is expected, not worth a dead-letter log line.

/// <summary>Inputs are queued in the inbox or ticks are pending on the facade: run a turn. At most one is on its way
/// (<see cref="ReplicaInbox.Wake"/>).</summary>
internal sealed class ReplicaWake : IDeadLetterSuppression
{
    public static readonly ReplicaWake Instance = new();
}

/// <summary>The turn's persist (and what follows it) finished.</summary>
internal sealed class ReplicaTurnDone : IDeadLetterSuppression
{
    public static readonly ReplicaTurnDone Instance = new();
}

/// <summary>The turn failed (a commit the silo refused, a broken invariant): the incarnation stops and its supervisor starts another.</summary>
internal sealed record ReplicaTurnFailed(Exception Cause) : IDeadLetterSuppression;

/// <summary>What the incarnation loaded from the silo.</summary>
internal sealed record ReplicaLoaded(SiloRaftStorage Storage, LogIndex Applied) : IDeadLetterSuppression;

/// <summary>Loading from the silo failed.</summary>
internal sealed record ReplicaLoadFailed(Exception Cause) : IDeadLetterSuppression;
