using System.Text;
using Memo.Node;
using Memo.Node.Raft;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// Host-side checks of what replicas apply, beside the <see cref="SafetyMonitor"/> (which sees the core's log):
/// <list type="bullet">
/// <item>Contiguous apply: each replica applies index applied+1 next (no gap, no repeat), and a snapshot it installs
/// lies beyond what it applied.</item>
/// <item>Same state at the same index: the first replica to reach an applied index (by entries, a snapshot or a
/// restart) records its state machine contents there; every other replica reaching that index must hold the same.</item>
/// <item>Convergence: after the quiet phase every replica still in the group is up, has applied the highest commit
/// index, and holds the same contents.</item>
/// <item>Lease promise (leader leases on): a voter that acknowledged a heartbeat sent at time s neither grants a vote
/// or pre-vote nor campaigns for a later term before s + <see cref="RaftConfig.LeaseTicks"/>, except for a leadership
/// transfer (the leader gave its lease up). A leader serves reads alone until then on the strength of that promise,
/// so breaking it is a stale read waiting for a client; its own rule (an election timeout of its own ticks after it
/// heard the leader) keeps it two ticks and a tenth beyond.</item>
/// </list>
/// </summary>
public sealed partial class Simulation
{
    // The lease every replica's configuration gives (ElectionTicks 10), in simulated milliseconds.
    private static readonly double LeaseMs = new RaftConfig { Id = new NodeId(1), ElectionTicks = 10 }.LeaseTicks * TickMs;

    private readonly Dictionary<LogIndex, (ulong Node, string State)> _appliedStates = [];
    private string? _replicaFailure;

    private void CheckApplyOrder(SimNode node, LogIndex index)
    {
        if (index != node.Applied.Next())
        {
            _replicaFailure ??= $"apply order: at {_now} ms node {node.Id} applied {index} right after {node.Applied} ({(index <= node.Applied ? "a repeat" : "a gap")})";
        }
    }

    private void CheckSnapshotInstall(SimNode node, LogIndex index)
    {
        // Index 0 is the bootstrap configuration a joining replica with an empty log receives.
        if (index <= node.Applied && index != LogIndex.Zero)
        {
            _replicaFailure ??= $"apply order: at {_now} ms node {node.Id} installed a snapshot at {index}, not beyond its applied {node.Applied}";
        }
    }

    private void RecordAppliedState(SimNode node)
    {
        var state = Describe(node.State);
        if (!_appliedStates.TryGetValue(node.Applied, out var known))
        {
            _appliedStates[node.Applied] = (node.Id, state);
        }
        else if (known.State != state)
        {
            _replicaFailure ??= $"replica state: at {_now} ms node {node.Id} holds {{{state}}} at applied index {node.Applied}, but node {known.Node} held {{{known.State}}} there";
        }
    }

    private void CheckReplicasConverged()
    {
        var members = _nodes.Values.Where(n => !n.Decommissioned).ToList();
        if (members.FirstOrDefault(n => n.Core is null) is { } down)
        {
            _livenessFailure ??= $"convergence: node {down.Id} is down at the end";
            return;
        }

        if (_options.HostFaults.HasFlag(HostFaults.CorruptStateAtEnd) && _nodes.TryGetValue(2, out var corrupted))
        {
            corrupted.State["planted"] = "never written";
        }

        var commit = members.Max(n => n.Core!.CommitIndex);
        var replicas = string.Join(" | ", members.Select(n => $"{n.Id}: applied {n.Applied} {{{Describe(n.State)}}}, {n.Core!.Status}"));
        if (members.FirstOrDefault(n => n.Applied != commit) is { } behind)
        {
            _livenessFailure ??= $"convergence: after {_options.QuiescePhaseMs} ms without faults or clients node {behind.Id} applied {behind.Applied}, the group committed {commit}; replicas: {replicas}";
            return;
        }

        if (members.Select(n => Describe(n.State)).Distinct().Count() > 1)
        {
            _replicaFailure ??= $"replica state: replicas differ at applied index {commit}: {replicas}";
        }
    }

    private static string Describe(Dictionary<string, string> state) => Encoding.UTF8.GetString(KvCommand.Serialize(state));

    // Before the replica steps m: true when m is a vote request (not a transfer's) that it must not grant now.
    private bool VoteRequestInPromise(SimNode node, RaftMessage m) =>
        _leaseReads && m.Kind is RaftMessageKind.Vote or RaftMessageKind.PreVote && !IsTransfer(m) && InPromise(node, m.Term);

    // After it stepped such a request: the answers that step produced (a Ready may gather those of several steps).
    private void CheckGrant(SimNode node, RaftNode core, int outboxBefore, RaftMessage request)
    {
        for (var i = outboxBefore; i < core.Outbox.Count; i++)
        {
            if (core.Outbox[i] is { Kind: RaftMessageKind.VoteResponse or RaftMessageKind.PreVoteResponse, Reject: false } answer && answer.To == request.From)
            {
                BreakPromise(node, $"granted {answer}");
            }
        }
    }

    // After the replica stepped m: the heartbeats it acknowledged, with their send times.
    private void NoteHeartbeat(SimNode node, RaftNode core, RaftMessage m, long sentAt)
    {
        if (_leaseReads && m.Kind == RaftMessageKind.Heartbeat && core.Role == RaftRole.Follower && core.Leader == m.From && core.Term == m.Term)
        {
            node.AcknowledgedHeartbeat = node.AcknowledgedHeartbeat is { } known && known.Term == m.Term
                ? (m.Term, Math.Max(known.SentAt, sentAt))
                : (m.Term, sentAt);
        }
    }

    // After its ticks: a replica that started campaigning votes for itself.
    private void CheckCampaign(SimNode node, RaftNode core, RaftRole roleBefore, Term termBefore)
    {
        if (core.Role is RaftRole.PreCandidate or RaftRole.Candidate && (core.Role != roleBefore || core.Term != termBefore))
        {
            var term = core.Role == RaftRole.PreCandidate ? core.Term.Next() : core.Term;
            if (InPromise(node, term))
            {
                BreakPromise(node, $"started campaigning ({core.Role}) for term {term}");
            }
        }
    }

    private bool InPromise(SimNode node, Term term) =>
        _leaseReads && node.AcknowledgedHeartbeat is { } acknowledged && term > acknowledged.Term && _now < acknowledged.SentAt + LeaseMs;

    private void BreakPromise(SimNode node, string what)
    {
        var acknowledged = node.AcknowledgedHeartbeat!.Value;
        _replicaFailure ??= $"lease promise: at {_now} ms node {node.Id} {what}, {_now - acknowledged.SentAt} ms after the term-{acknowledged.Term} "
            + $"heartbeat it acknowledged was sent (a leader may serve reads alone for {LeaseMs} ms after it)";
    }

    private static bool IsTransfer(RaftMessage m) => m.Context is { } context && context.AsSpan().SequenceEqual(RaftMessage.TransferContext);
}
