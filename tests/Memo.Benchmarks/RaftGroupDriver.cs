using Memo.Node;
using Memo.Node.Raft;

namespace Memo.Benchmarks;

/// <summary>
/// A 3-replica Raft group driven in memory, in one thread: Readys are persisted to in-memory stores, messages are
/// delivered in-process, committed entries are counted. Measures the core's own cost (no I/O, no network).
/// </summary>
public sealed class RaftGroupDriver
{
    private readonly RaftNode[] _nodes;
    private readonly MemoryRaftLogStore[] _stores;
    private readonly Queue<RaftMessage> _network = new();
    private readonly byte[] _payload;
    private long _applied;

    public RaftGroupDriver(int entryBytes = 256)
    {
        var membership = RaftMembership.Create([new NodeId(1), new NodeId(2), new NodeId(3)]);
        _stores = [.. Enumerable.Range(0, 3).Select(_ => MemoryRaftLogStore.Bootstrap(membership))];
        _nodes = [.. Enumerable.Range(0, 3).Select(i => new RaftNode(new RaftConfig { Id = new NodeId((ulong)i + 1), MaxInflightAppends = 256 }, _stores[i]))];
        _payload = new byte[entryBytes];
        _nodes[0].Campaign();
        Pump();
        if (_nodes[0].Role != RaftRole.Leader)
        {
            throw new InvalidOperationException("node 1 did not become leader");
        }
    }

    /// <summary>Entries applied on the leader so far.</summary>
    public long Applied => _applied;

    /// <summary>Proposes <paramref name="count"/> entries in batches of <paramref name="batch"/> and runs until all are applied on the leader.</summary>
    public void Commit(int count, int batch)
    {
        var target = _applied + count;
        while (_applied < target)
        {
            var n = (int)Math.Min(batch, target - _applied);
            for (var i = 0; i < n; i++)
            {
                if (!_nodes[0].Propose(_payload).IsAccepted)
                {
                    break;
                }
            }

            Pump();
            Compact();
        }
    }

    private void Pump()
    {
        var progressed = true;
        while (progressed)
        {
            progressed = false;
            for (var i = 0; i < _nodes.Length; i++)
            {
                var node = _nodes[i];
                while (node.HasReady)
                {
                    progressed = true;
                    var ready = node.GetReady();
                    foreach (var m in ready.MessagesBeforePersistence)
                    {
                        _network.Enqueue(m);
                    }

                    _stores[i].Save(ready);
                    foreach (var m in ready.MessagesAfterPersistence)
                    {
                        _network.Enqueue(m);
                    }

                    if (i == 0)
                    {
                        _applied += ready.CommittedEntries.Count(e => e.Data.Length > 0);
                    }

                    node.Advance(ready);
                }
            }

            while (_network.TryDequeue(out var m))
            {
                progressed = true;
                _nodes[m.To.Value - 1].Step(m);
            }
        }
    }

    private void Compact()
    {
        for (var i = 0; i < _nodes.Length; i++)
        {
            var applied = _nodes[i].AppliedIndex;
            if (applied.Value > _stores[i].Snapshot.Index.Value + 50_000 && _nodes[i].SnapshotMetadataAt(applied) is { } metadata)
            {
                _stores[i].CreateSnapshot(new RaftSnapshot(metadata, []), applied);
            }
        }
    }
}
