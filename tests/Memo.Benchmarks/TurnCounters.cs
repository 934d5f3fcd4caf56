using System.Diagnostics.Metrics;
using Memo.Node.Metrics;

namespace Memo.Benchmarks;

/// <summary>
/// Sums the replica runtime's turn counters (<c>memo.raft.turns</c>, <c>.turn.inputs</c>, <c>.read.indexes</c>) and the
/// silo's transactions (<c>memo.silo.commit.operations</c>, one measurement per transaction) while a run lasts, so the
/// benchmark can print how many inputs a turn batched and how many turns, Ready turns and commits an operation cost.
/// </summary>
public sealed class TurnCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _turns;
    private long _readyTurns;
    private long _inputs;
    private long _readIndexes;
    private long _commits;

    /// <summary>Starts listening to the node's meter.</summary>
    public TurnCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == NodeMetrics.MeterName && instrument.Name is "memo.raft.turns" or "memo.raft.turn.inputs" or "memo.raft.read.indexes" or "memo.silo.commit.operations")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            switch (instrument.Name)
            {
                case "memo.raft.turns":
                    Interlocked.Increment(ref _turns);
                    foreach (var tag in tags)
                    {
                        if (tag is { Key: "ready", Value: true })
                        {
                            Interlocked.Increment(ref _readyTurns);
                        }
                    }
                    break;
                case "memo.raft.turn.inputs":
                    Interlocked.Add(ref _inputs, value);
                    break;
                case "memo.raft.read.indexes":
                    Interlocked.Increment(ref _readIndexes);
                    break;
                case "memo.silo.commit.operations":
                    Interlocked.Increment(ref _commits);
                    break;
            }
        });
        _listener.Start();
    }

    /// <summary>The counts so far.</summary>
    public (long Turns, long ReadyTurns, long Inputs, long ReadIndexes, long Commits) Read() =>
        (Volatile.Read(ref _turns), Volatile.Read(ref _readyTurns), Volatile.Read(ref _inputs), Volatile.Read(ref _readIndexes), Volatile.Read(ref _commits));

    /// <summary>Stops listening.</summary>
    public void Dispose() => _listener.Dispose();
}
