using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Memo.Node.Metrics;

// Design note: the node's measurements are System.Diagnostics.Metrics instruments (the BCL API), so the code that
// records them depends on no telemetry package; OpenTelemetry's MeterProvider on the metrics port (MetricsServer)
// listens to this meter by name and serves it to Prometheus, or pushes it over OTLP. An instrument nobody listens to
// costs one branch; a listened one, an interlocked add into a pre-sized aggregator. Recording takes no lock, allocates
// nothing (tags are at most three, values boxed once here), and never throws.
//
// The meter is process-wide: a process hosting several nodes (in-process tests) adds their counts together. The
// per-node state (Raft per shard, members, moves) is observed at scrape time by NodeStateMetrics, tagged with the node.

/// <summary>
/// The counters and histograms recorded at existing points of the request path, the Raft replicas and the silo
/// writer: meter <see cref="MeterName"/>. Names follow OpenTelemetry's conventions (dots, units in the unit field);
/// the Prometheus exporter turns <c>memo.raft.proposals</c> into <c>memo_raft_proposals_total</c>.
/// </summary>
public static class NodeMetrics
{
    /// <summary>The name of the node's meter (and of <see cref="NodeStateMetrics"/>' per-node meters).</summary>
    public const string MeterName = "Memo.Node";

    private static readonly Meter Meter = new(MeterName, typeof(NodeMetrics).Assembly.GetName().Version?.ToString());

    // Boxed once: a tag value is an object, and boxing a bool per recording would allocate.
    private static readonly object True = true;
    private static readonly object False = false;

    private static readonly Histogram<double> RpcDuration = Meter.CreateHistogram<double>("memo.rpc.server.duration", "s",
        "Time from a gRPC call's arrival to its status, by method and gRPC status code (count: request rate; non-OK: errors).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    private static readonly Counter<long> Proposals = Meter.CreateCounter<long>("memo.raft.proposals", "{proposal}",
        "Proposals a shard leader appended to its Raft log.");

    private static readonly Counter<long> ProposalsRefused = Meter.CreateCounter<long>("memo.raft.proposals.refused", "{proposal}",
        "Proposals refused before the log: not the leader, too many pending, or refused by the Raft core.");

    private static readonly Histogram<double> AppendDuration = Meter.CreateHistogram<double>("memo.raft.append.duration", "s",
        "Time a replica's turn took to make its new log entries, hard state and applied writes durable (one silo commit).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    private static readonly Counter<long> AsyncAcknowledged = Meter.CreateCounter<long>("memo.raft.async.acknowledged", "{write}",
        "Async writes (memo-write-consistency: async) a shard leader acknowledged at their durable append, before a majority held them.");

    private static readonly UpDownCounter<long> AsyncUncommitted = Meter.CreateUpDownCounter<long>("memo.raft.async.uncommitted", "{write}",
        "Async writes acknowledged at their append and not yet committed: the replication lag of async writes (what a leader's loss could take).");

    private static readonly Counter<long> AsyncUnconfirmed = Meter.CreateCounter<long>("memo.raft.async.unconfirmed", "{write}",
        "Async writes acknowledged at their append whose commit their leader never saw: superseded by a new leader (lost), or the replica stopped or a snapshot covered them first (possibly lost).");

    private static readonly Counter<long> Turns = Meter.CreateCounter<long>("memo.raft.turns", "{turn}",
        "Turns of the shard replicas: one pass that steps the queued inputs and the ticks, then handles the core's Ready if it has one (tag ready).");

    private static readonly Counter<long> TurnInputs = Meter.CreateCounter<long>("memo.raft.turn.inputs", "{input}",
        "Inputs (proposals, reads, Raft messages, membership and status requests) the shard replicas stepped; divided by memo.raft.turns, the batching per turn.");

    private static readonly Counter<long> ReadIndexes = Meter.CreateCounter<long>("memo.raft.read.indexes", "{read index}",
        "ReadIndex confirmations a shard leader started: one for all the reads that arrived before the same turn.");

    private static readonly Counter<long> SnapshotsSent = Meter.CreateCounter<long>("memo.raft.snapshots.sent", "{snapshot}",
        "Raft snapshots a leader sent to a follower or learner (a new replica's first copy of its shard).");

    private static readonly Counter<long> SnapshotsReceived = Meter.CreateCounter<long>("memo.raft.snapshots.received", "{snapshot}",
        "Raft snapshots a replica installed.");

    private static readonly Counter<long> SnapshotBytesSent = Meter.CreateCounter<long>("memo.rebalance.bytes.sent", "By",
        "Bytes of snapshot messages sent to other replicas: the data moved by rebalancing and catch-up.");

    private static readonly Histogram<long> CommitOperations = Meter.CreateHistogram<long>("memo.silo.commit.operations", "{operation}",
        "Writes in one silo transaction (a group commit of one or more batches).",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096] });

    private static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>("memo.silo.commit.duration", "s",
        "Time to apply and commit one silo transaction; with flush=true this includes the fsync.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    private static readonly Counter<long> CommitBytes = Meter.CreateCounter<long>("memo.silo.commit.bytes", "By",
        "Approximate bytes written by silo transactions.");

    private static readonly Counter<long> CommitFailures = Meter.CreateCounter<long>("memo.silo.commit.failures", "{batch}",
        "Silo batches that failed to commit (I/O errors, disk full, corruption).");

    // 100 us to 10 s: a cached read answers in tens of microseconds, an fsync on a slow disk takes tens of milliseconds.
    private static double[] LatencyBuckets =>
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Records one finished gRPC call.</summary>
    /// <param name="method">The gRPC path, <c>/package.Service/Method</c>.</param>
    /// <param name="grpcStatus">The gRPC status code the call ended with (0 OK).</param>
    /// <param name="startTimestamp">Its <see cref="Stopwatch.GetTimestamp"/> at arrival.</param>
    public static void RecordRpc(string method, int grpcStatus, long startTimestamp)
    {
        if (!RpcDuration.Enabled)
        {
            return;
        }
        RpcDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds,
            new KeyValuePair<string, object?>("rpc.method", method),
            new KeyValuePair<string, object?>("rpc.grpc.status_code", StatusCodeTag(grpcStatus)));
    }

    /// <summary>Counts a proposal the Raft core accepted (true) or one refused before the log (false).</summary>
    public static void RecordProposal(bool accepted)
    {
        if (accepted)
        {
            Proposals.Add(1);
        }
        else
        {
            ProposalsRefused.Add(1);
        }
    }

    /// <summary>Records how long a replica's turn took to make its writes durable.</summary>
    public static void RecordAppend(long startTimestamp)
    {
        if (AppendDuration.Enabled)
        {
            AppendDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        }
    }

    /// <summary>Counts one replica turn, the inputs it stepped and whether it handled a Ready.</summary>
    public static void RecordTurn(int inputs, bool ready)
    {
        Turns.Add(1, new KeyValuePair<string, object?>("ready", ready ? True : False));
        if (inputs > 0)
        {
            TurnInputs.Add(inputs);
        }
    }

    /// <summary>Counts an async write acknowledged at its leader's durable append (it is uncommitted until
    /// <see cref="RecordAsyncWriteFinished"/>).</summary>
    public static void RecordAsyncWriteAcknowledged()
    {
        AsyncAcknowledged.Add(1);
        AsyncUncommitted.Add(1);
    }

    /// <summary>An acknowledged async write's final outcome at its leader: committed, or not seen committed (lost or possibly lost).</summary>
    public static void RecordAsyncWriteFinished(bool committed)
    {
        AsyncUncommitted.Add(-1);
        if (!committed)
        {
            AsyncUnconfirmed.Add(1);
        }
    }

    /// <summary>Counts one ReadIndex confirmation started for a turn's reads.</summary>
    public static void RecordReadIndex() => ReadIndexes.Add(1);

    /// <summary>Counts a snapshot message sent, with its encoded size.</summary>
    public static void RecordSnapshotSent(int bytes)
    {
        SnapshotsSent.Add(1);
        SnapshotBytesSent.Add(bytes);
    }

    /// <summary>Counts a snapshot a replica installed.</summary>
    public static void RecordSnapshotReceived() => SnapshotsReceived.Add(1);

    /// <summary>Records one silo transaction: its writes, approximate bytes, whether it flushed, and its duration.</summary>
    public static void RecordCommit(long operations, long bytes, bool flushed, long startTimestamp)
    {
        var flush = new KeyValuePair<string, object?>("flush", flushed ? True : False);
        if (CommitDuration.Enabled)
        {
            CommitDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, flush);
        }
        CommitOperations.Record(operations);
        CommitBytes.Add(bytes);
    }

    /// <summary>Counts silo batches that failed to commit.</summary>
    public static void RecordCommitFailures(int batches) => CommitFailures.Add(batches);

    // gRPC has 17 status codes; anything else (never expected) is tagged by its number, boxed then.
    private static readonly object[] StatusCodes = Enumerable.Range(0, 17).Select(i => (object)i).ToArray();

    private static object StatusCodeTag(int code) => (uint)code < (uint)StatusCodes.Length ? StatusCodes[code] : code;
}
