using System.Globalization;
using System.Text;
using Memo.Node;
using Memo.Node.Raft;
using Memo.Raft.Tests.Simulation;

namespace Memo.Raft.Tests.Scenarios;

/// <summary>
/// Runs the commands of a scenario file against in-memory replicas and renders what happens as text (after
/// etcd-io/raft's interaction_env). Messages wait in a network queue until delivered; partitions drop them at
/// delivery. Each replica has a durable store (what its Readys persisted) and a trivial state machine (the list
/// of applied payloads). A <see cref="SafetyMonitor"/> checks every Ready; violations appear in the output.
/// </summary>
internal sealed class ScenarioEnvironment
{
    private readonly SortedDictionary<ulong, Replica> _replicas = [];
    private readonly List<RaftMessage> _network = [];
    private readonly HashSet<(ulong From, ulong To)> _cut = [];
    private readonly SafetyMonitor _monitor = new();
    private readonly StringBuilder _out = new();
    private string? _reportedViolation;

    public string Run(string command, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> options)
    {
        _out.Clear();
        switch (command)
        {
            case "add-nodes": AddNodes(int.Parse(args[0], CultureInfo.InvariantCulture), options); break;
            case "campaign": Node(args[0]).Core.Campaign(); break;
            case "tick": Tick(args, options); break;
            case "tick-election": foreach (var id in Ids(args)) { TickN(id, 2 * _replicas[id].Config.ElectionTicks); } break;
            case "tick-heartbeat": foreach (var id in Ids(args)) { TickN(id, _replicas[id].Config.HeartbeatTicks); } break;
            case "process-ready": foreach (var id in Ids(args)) { ProcessReady(id); } break;
            case "deliver-msgs": foreach (var id in Ids(args)) { Deliver(id, options.ContainsKey("drop")); } break;
            case "stabilize": Stabilize(Ids(args)); break;
            case "propose": Line(Node(args[0]).Core.Propose(Encoding.ASCII.GetBytes(args[1])).ToString()); break;
            case "propose-conf-change": ProposeConfChange(args); break;
            case "transfer-leadership": Line(Node(args[0]).Core.TransferLeadership(new NodeId(ulong.Parse(args[1], CultureInfo.InvariantCulture))).ToString()); break;
            case "read-index": Line(Node(args[0]).Core.ReadIndex(Encoding.ASCII.GetBytes(args[1])).ToString()); break;
            case "partition": Partition(args); break;
            case "heal": _cut.Clear(); break;
            case "crash": Crash(args); break;
            case "restart": Restart(args); break;
            case "wipe": Wipe(args); break;
            case "compact": Compact(args); break;
            case "status": foreach (var id in Ids(args)) { Line(_replicas[id].Core.Status.ToString()); } break;
            case "progress": Line(Node(args[0]).Core.DescribeProgress()); break;
            case "raft-log": foreach (var id in Ids(args)) { RaftLog(id); } break;
            case "raft-state": foreach (var r in _replicas.Values) { Line(r.Crashed ? $"{r.Id} crashed" : $"{r.Id}: {r.Core.Role} term={r.Core.Term} lead={r.Core.Leader.Value} commit={r.Core.CommitIndex} last={r.Core.LastIndex}"); } break;
            case "applied": foreach (var id in Ids(args)) { Line($"{id}: [{string.Join(" ", _replicas[id].Applied)}]"); } break;
            default: throw new InvalidOperationException($"unknown command '{command}'");
        }

        if (_monitor.Violation is { } v && v != _reportedViolation)
        {
            _reportedViolation = v;
            Line("SAFETY VIOLATION: " + v);
        }

        return _out.ToString();
    }

    /// <summary>The first safety violation seen, if any.</summary>
    public string? Violation => _monitor.Violation;

    private void AddNodes(int count, IReadOnlyDictionary<string, string> options)
    {
        var voters = List(options, "voters");
        var learners = List(options, "learners");
        var faults = options.TryGetValue("faults", out var f) ? Enum.Parse<RaftFaults>(f.Replace('|', ','), ignoreCase: true) : RaftFaults.None;
        for (var i = 0; i < count; i++)
        {
            var id = (ulong)_replicas.Count + 1;
            var config = new RaftConfig
            {
                Id = new NodeId(id),
                ElectionTicks = Int(options, "election", 10),
                HeartbeatTicks = Int(options, "heartbeat", 1),
                PreVote = Bool(options, "prevote", true),
                CheckQuorum = Bool(options, "checkquorum", true),
                MaxInflightAppends = Int(options, "inflight", 64),
                MaxEntriesPerAppend = Int(options, "max-entries", 1024),
                // The scenarios follow etcd's traces, which tell followers a new commit index at once; commit_notice.txt
                // replays the default (followers learn it from the next append or heartbeat).
                BroadcastCommit = Bool(options, "broadcast-commit", true),
                RandomSeed = 1,
                Faults = faults,
            };
            var store = voters.Count > 0
                ? MemoryRaftLogStore.Bootstrap(RaftMembership.Create(voters.Select(v => new NodeId(v)), learners.Select(l => new NodeId(l))))
                : new MemoryRaftLogStore();
            var replica = new Replica(id, config, store);
            _replicas[id] = replica;
            Line($"{id}: {replica.Core.Membership}");
        }
    }

    private void Tick(IReadOnlyList<string> args, IReadOnlyDictionary<string, string> options)
    {
        var n = Int(options, "n", 1);
        foreach (var id in Ids(args))
        {
            TickN(id, n);
        }
    }

    private void TickN(ulong id, int n)
    {
        var r = _replicas[id];
        for (var i = 0; i < n; i++)
        {
            r.Core.Tick();
            _monitor.ObserveLeader(r.Core);
        }
    }

    private bool ProcessReady(ulong id)
    {
        var r = _replicas[id];
        if (r.Crashed || !r.Core.HasReady)
        {
            return false;
        }

        var ready = r.Core.GetReady();
        _monitor.OnReady(r.Core, ready);
        Line($"> {id} handling Ready");
        if (ready.HardState is { } hs)
        {
            Line($"  HardState {hs}");
        }

        if (ready.Snapshot is { } snap)
        {
            Line($"  Snapshot {snap.Metadata}");
        }

        foreach (var e in ready.Entries)
        {
            Line($"  Entry {e}");
        }

        foreach (var e in ready.CommittedEntries)
        {
            Line($"  Apply {e}");
        }

        foreach (var rs in ready.ReadStates)
        {
            Line($"  ReadState index={rs.Index} ctx={Encoding.ASCII.GetString(rs.Context)}");
        }

        foreach (var m in ready.AllMessages)
        {
            Line($"  Send {m}");
            _network.Add(m);
        }

        r.Store.Save(ready);
        if (ready.Snapshot is { } installed)
        {
            RestoreApplied(r, installed);
        }

        foreach (var e in ready.CommittedEntries)
        {
            if (e.Kind == RaftEntryKind.Normal && e.Data.Length > 0)
            {
                r.Applied.Add(Encoding.ASCII.GetString(e.Data));
            }
        }

        r.Core.Advance(ready);
        _monitor.ObserveLeader(r.Core);
        return true;
    }

    private bool Deliver(ulong id, bool drop)
    {
        var batch = _network.Where(m => m.To.Value == id).ToList();
        if (batch.Count == 0)
        {
            return false;
        }

        _network.RemoveAll(m => m.To.Value == id);
        var r = _replicas[id];
        Line($"> {id} receiving messages");
        foreach (var m in batch)
        {
            if (drop || r.Crashed || _cut.Contains((m.From.Value, id)))
            {
                Line($"  {m} DROPPED");
                continue;
            }

            Line($"  {m}");
            r.Core.Step(m);
            _monitor.ObserveLeader(r.Core);
        }

        return true;
    }

    private void Stabilize(IReadOnlyList<ulong> ids)
    {
        for (var round = 0; round < 1000; round++)
        {
            var progressed = false;
            foreach (var id in ids)
            {
                progressed |= ProcessReady(id);
            }

            foreach (var id in ids)
            {
                progressed |= Deliver(id, drop: false);
            }

            if (!progressed)
            {
                return;
            }
        }

        throw new InvalidOperationException("stabilize did not converge in 1000 rounds");
    }

    private void ProposeConfChange(IReadOnlyList<string> args)
    {
        var kind = args[1] switch
        {
            "add-learner" => ConfigChangeKind.AddLearner,
            "promote" => ConfigChangeKind.PromoteLearner,
            "remove" => ConfigChangeKind.Remove,
            _ => throw new InvalidOperationException($"unknown change {args[1]}"),
        };
        Line(Node(args[0]).Core.ProposeConfigChange(new ConfigChange(kind, new NodeId(ulong.Parse(args[2], CultureInfo.InvariantCulture)))).ToString());
    }

    /// <summary>"partition 1 2 / 3 4": cuts both directions between the groups; "partition 1 -> 2": cuts one direction.</summary>
    private void Partition(IReadOnlyList<string> args)
    {
        var arrow = args.ToList().IndexOf("->");
        if (arrow >= 0)
        {
            foreach (var a in args.Take(arrow))
            {
                foreach (var b in args.Skip(arrow + 1))
                {
                    _cut.Add((ulong.Parse(a, CultureInfo.InvariantCulture), ulong.Parse(b, CultureInfo.InvariantCulture)));
                }
            }

            return;
        }

        var groups = string.Join(" ", args).Split('/').Select(g => g.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(ulong.Parse).ToList()).ToList();
        foreach (var g in groups)
        {
            foreach (var h in groups)
            {
                if (!ReferenceEquals(g, h))
                {
                    foreach (var a in g)
                    {
                        foreach (var b in h)
                        {
                            _cut.Add((a, b));
                        }
                    }
                }
            }
        }
    }

    private void Crash(IReadOnlyList<string> args)
    {
        foreach (var id in Ids(args))
        {
            _replicas[id].Crashed = true;
            _network.RemoveAll(m => m.To.Value == id);
        }
    }

    private void Restart(IReadOnlyList<string> args)
    {
        foreach (var id in Ids(args))
        {
            var r = _replicas[id];
            r.Crashed = false;
            r.Core = new RaftNode(r.Config, r.Store);
            RestoreApplied(r, r.Store.Snapshot);
            _monitor.OnRestart(r.Core.Id);
            Line(r.Core.Status.ToString());
        }
    }

    /// <summary>
    /// The replica's store is cleared and it starts again empty under the same id, as a node's host does when the group
    /// removed the replica and the placement later assigns the shard to the node again.
    /// </summary>
    private void Wipe(IReadOnlyList<string> args)
    {
        foreach (var id in Ids(args))
        {
            var old = _replicas[id];
            var r = new Replica(id, old.Config, new MemoryRaftLogStore());
            _replicas[id] = r;
            _network.RemoveAll(m => m.To.Value == id);
            _monitor.OnRestart(r.Core.Id);
            Line(r.Core.Status.ToString());
        }
    }

    private void Compact(IReadOnlyList<string> args)
    {
        var r = Node(args[0]);
        var index = new LogIndex(ulong.Parse(args[1], CultureInfo.InvariantCulture));
        var metadata = r.Core.SnapshotMetadataAt(index) ?? throw new InvalidOperationException($"index {index} not in the log");
        r.Store.CreateSnapshot(new RaftSnapshot(metadata, Encoding.ASCII.GetBytes(string.Join(" ", r.Applied))), index);
        Line($"{r.Id}: snapshot {metadata}, log [{r.Store.FirstIndex},{r.Store.LastIndex}]");
    }

    /// <summary>The state machine restarts from the snapshot (the applied payloads it recorded) and replays the rest.</summary>
    private static void RestoreApplied(Replica r, RaftSnapshot snapshot)
    {
        r.Applied.Clear();
        r.Applied.AddRange(Encoding.ASCII.GetString(snapshot.Data).Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    private void RaftLog(ulong id)
    {
        var r = _replicas[id];
        var core = r.Core;
        Line($"{id}: log [{core.FirstIndex},{core.LastIndex}] commit={core.CommitIndex}");
        if (core.LastIndex >= core.FirstIndex)
        {
            foreach (var e in core.GetEntries(core.FirstIndex, core.LastIndex.Next()))
            {
                Line($"  {e}");
            }
        }
    }

    private Replica Node(string id) => _replicas[ulong.Parse(id, CultureInfo.InvariantCulture)];

    private IReadOnlyList<ulong> Ids(IReadOnlyList<string> args) =>
        args.Count == 0 || args[0] == "all" ? _replicas.Keys.ToList() : args.Select(a => ulong.Parse(a, CultureInfo.InvariantCulture)).ToList();

    private void Line(string s) => _out.Append(s).Append('\n');

    private static List<ulong> List(IReadOnlyDictionary<string, string> o, string key) =>
        o.TryGetValue(key, out var v) ? v.Trim('(', ')').Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => ulong.Parse(x, CultureInfo.InvariantCulture)).ToList() : [];

    private static int Int(IReadOnlyDictionary<string, string> o, string key, int fallback) =>
        o.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    private static bool Bool(IReadOnlyDictionary<string, string> o, string key, bool fallback) =>
        o.TryGetValue(key, out var v) ? bool.Parse(v) : fallback;

    private sealed class Replica(ulong id, RaftConfig config, MemoryRaftLogStore store)
    {
        public ulong Id { get; } = id;

        public RaftConfig Config { get; } = config;

        public MemoryRaftLogStore Store { get; } = store;

        public RaftNode Core { get; set; } = new(config, store);

        public bool Crashed { get; set; }

        public List<string> Applied { get; } = [];
    }
}
