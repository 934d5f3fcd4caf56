using System.Text;
using Memo.Node;

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
/// </list>
/// </summary>
public sealed partial class Simulation
{
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
}
