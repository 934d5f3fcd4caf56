using System.Security.Cryptography;
using Memo.Node;
using Memo.Node.Raft;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// Checks the safety properties of Raft (Figure 3 of the paper) over every replica of one group, fed by the host
/// of each replica as Readys are handled:
/// <list type="bullet">
/// <item>Election safety: at most one leader per term, ever.</item>
/// <item>Log matching: an entry with a given index and term always has the same payload and the same predecessor
/// term, in every log (by induction, logs agree on all earlier entries).</item>
/// <item>Leader completeness (§5.4): a leader's log holds every entry committed in an earlier term. The term an entry
/// was committed in is taken as the lowest term of a replica that reported it committed (at least the true one, so
/// the check never blames a leader wrongly); a leader elected late, by votes delayed across a pause, need not hold
/// what later terms committed meanwhile.</item>
/// <item>State-machine safety: every replica applies the same entry at each index; committed entries never change.</item>
/// </list>
/// The first violation is kept in <see cref="Violation"/>.
/// </summary>
public sealed class SafetyMonitor
{
    private readonly Dictionary<Term, NodeId> _leaders = [];
    private readonly Dictionary<(LogIndex, Term), (string Hash, Term PrevTerm)> _entries = [];
    private readonly Dictionary<LogIndex, (Term Term, string Hash, Term CommitTerm)> _committed = [];
    private readonly Dictionary<NodeId, LogIndex> _recordedCommit = [];
    private LogIndex _maxCommitted;

    /// <summary>The first violated property, or null.</summary>
    public string? Violation { get; private set; }

    /// <summary>The highest index known committed by any replica.</summary>
    public LogIndex MaxCommitted => _maxCommitted;

    /// <summary>Forgets what a crashed replica had recorded (its volatile commit index).</summary>
    public void OnRestart(NodeId node) => _recordedCommit.Remove(node);

    /// <summary>Checks a Ready that <paramref name="node"/> produced, before the host acts on it.</summary>
    public void OnReady(RaftNode node, Ready ready)
    {
        if (Violation is not null)
        {
            return;
        }

        if (ready.Role == RaftRole.Leader)
        {
            ObserveLeader(node);
        }

        // Log matching, for every entry entering any log.
        if (ready.Entries.Count > 0)
        {
            var first = ready.Entries[0].Index;
            var prevTerm = Term.Zero;
            if (first.Value > 1)
            {
                if (ready.Snapshot is { } s && s.Index == first.Previous())
                {
                    prevTerm = s.Term;
                }
                else if (!node.TryGetTerm(first.Previous(), out prevTerm))
                {
                    Fail($"node {node.Id.Value}: term of {first.Previous()} unknown while appending {first}");
                    return;
                }
            }

            foreach (var e in ready.Entries)
            {
                var hash = Hash(e);
                if (_entries.TryGetValue((e.Index, e.Term), out var known))
                {
                    if (known.Hash != hash || known.PrevTerm != prevTerm)
                    {
                        Fail($"log matching: node {node.Id.Value} holds entry {e.Term}/{e.Index} with different payload or predecessor term ({prevTerm} vs {known.PrevTerm})");
                        return;
                    }
                }
                else
                {
                    _entries[(e.Index, e.Term)] = (hash, prevTerm);
                }

                prevTerm = e.Term;
            }
        }

        // Committed entries never change.
        var commit = node.CommitIndex;
        _recordedCommit.TryGetValue(node.Id, out var recorded);
        var from = LogIndex.Max(recorded.Next(), node.FirstIndex);
        if (ready.Snapshot is { } snapshot)
        {
            RecordCommitted(node, snapshot.Index, snapshot.Term, null);
            from = LogIndex.Max(from, snapshot.Index.Next());
        }

        if (commit >= from && ready.Snapshot is null)
        {
            foreach (var e in node.GetEntries(from, commit.Next()))
            {
                RecordCommitted(node, e.Index, e.Term, Hash(e));
            }
        }

        _recordedCommit[node.Id] = LogIndex.Max(recorded, commit);
        if (commit > _maxCommitted)
        {
            _maxCommitted = commit;
        }

        // State-machine safety: what is applied is what was committed.
        foreach (var e in ready.CommittedEntries)
        {
            RecordCommitted(node, e.Index, e.Term, Hash(e));
        }
    }

    /// <summary>Checks the role of a replica after any input (catches two leaders even if no Ready follows).</summary>
    public void ObserveLeader(RaftNode node)
    {
        if (Violation is not null || node.Role != RaftRole.Leader)
        {
            return;
        }

        if (_leaders.TryGetValue(node.Term, out var other))
        {
            if (other != node.Id)
            {
                Fail($"election safety: nodes {other.Value} and {node.Id.Value} are both leader of term {node.Term}");
            }

            return;
        }

        _leaders[node.Term] = node.Id;

        // Leader completeness (§5.4): every entry committed in an earlier term is in the new leader's log.
        var first = LogIndex.Max(node.FirstIndex, new LogIndex(1));
        foreach (var (i, c) in _committed.Where(c => c.Value.CommitTerm < node.Term).OrderBy(c => c.Key))
        {
            if (i > node.LastIndex)
            {
                Fail($"leader completeness: leader {node.Id.Value} of term {node.Term} has last index {node.LastIndex} < {i}, committed in term {c.CommitTerm}");
                return;
            }

            if (i >= first && (!node.TryGetTerm(i, out var t) || t != c.Term))
            {
                Fail($"leader completeness: leader {node.Id.Value} of term {node.Term} lacks entry {c.Term}/{i}, committed in term {c.CommitTerm}");
                return;
            }
        }
    }

    private void RecordCommitted(RaftNode node, LogIndex index, Term term, string? hash)
    {
        if (_committed.TryGetValue(index, out var known))
        {
            if (known.Term != term || (hash is not null && known.Hash.Length > 0 && known.Hash != hash))
            {
                Fail($"state-machine safety: node {node.Id.Value} committed {term}/{index} but {known.Term}/{index} was committed before");
            }
            else if ((hash is not null && known.Hash.Length == 0) || node.Term < known.CommitTerm)
            {
                _committed[index] = (term, known.Hash.Length == 0 ? hash ?? "" : known.Hash, node.Term < known.CommitTerm ? node.Term : known.CommitTerm);
            }

            return;
        }

        _committed[index] = (term, hash ?? "", node.Term);
    }

    private void Fail(string message) => Violation ??= message;

    private static string Hash(RaftEntry e) =>
        Convert.ToHexString(SHA256.HashData(e.Data)) + ":" + (int)e.Kind;
}
