using Memo.Testing.Linearizability;
using Xunit.Abstractions;

namespace Memo.Raft.Tests.Linearizability;

public sealed class HistoryRecorderTests(ITestOutputHelper output)
{
    [Fact]
    public void Recorder_stamps_events_from_its_logical_clock_in_order()
    {
        var recorder = new HistoryRecorder();
        var a = recorder.Invoke(1, "k", KvOperationKind.Upsert, "v");
        var b = recorder.Invoke(2, "k", KvOperationKind.Read, "ignored");
        recorder.Ok(b, readValue: "v");
        recorder.Ok(a, applied: true);

        var ops = recorder.Operations;
        Assert.Equal(
            new HistoryOperation(0, 1, "k", KvOperationKind.Upsert, "v", 1, 4, HistoryOutcome.Ok, null, true), ops[a]);
        Assert.Equal(
            new HistoryOperation(1, 2, "k", KvOperationKind.Read, null, 2, 3, HistoryOutcome.Ok, "v", true), ops[b]);
    }

    [Fact]
    public void Recorder_uses_the_supplied_clock()
    {
        long time = 100;
        var recorder = new HistoryRecorder(() => time);
        var id = recorder.Invoke(0, "k", KvOperationKind.Delete, "ignored");
        time = 250;
        recorder.Ok(id, applied: false);

        var op = Assert.Single(recorder.Operations);
        Assert.Equal((100L, 250L, (string?)null, false), (op.InvokedAt, op.ReturnedAt, op.Input, op.Applied));
    }

    [Fact]
    public void Uncompleted_operations_are_unknown_and_failed_ones_failed()
    {
        var recorder = new HistoryRecorder();
        var pending = recorder.Invoke(0, "k", KvOperationKind.Insert, "a");
        var failed = recorder.Invoke(1, "k", KvOperationKind.Insert, "b");
        recorder.Fail(failed);

        var ops = recorder.Operations;
        Assert.Equal((HistoryOutcome.Unknown, (long?)null), (ops[pending].Outcome, ops[pending].ReturnedAt));
        Assert.Equal(HistoryOutcome.Failed, ops[failed].Outcome);
        Assert.NotNull(ops[failed].ReturnedAt);
    }

    [Fact]
    public void Completing_an_operation_twice_throws()
    {
        var recorder = new HistoryRecorder();
        var id = recorder.Invoke(0, "k", KvOperationKind.Read, null);
        recorder.Ok(id, readValue: null);
        Assert.Throws<InvalidOperationException>(() => recorder.Fail(id));
        Assert.Throws<InvalidOperationException>(() => recorder.Ok(id));
    }

    [Fact]
    public void Completing_an_unknown_id_throws()
    {
        var recorder = new HistoryRecorder();
        Assert.Throws<ArgumentOutOfRangeException>(() => recorder.Ok(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => recorder.Fail(-1));
    }

    [Fact]
    public void Operations_is_a_snapshot()
    {
        var recorder = new HistoryRecorder();
        var id = recorder.Invoke(0, "k", KvOperationKind.Read, null);
        var before = recorder.Operations;
        recorder.Ok(id, readValue: "x");
        Assert.Equal(HistoryOutcome.Unknown, before[id].Outcome);
        Assert.Equal(HistoryOutcome.Ok, recorder.Operations[id].Outcome);
    }

    [Fact]
    public async Task Threads_using_a_locked_map_record_a_linearizable_history()
    {
        // Real threads, real interleavings: each operation runs atomically under a lock between Invoke and Ok, so
        // whatever the scheduler does, the recorded history must be accepted.
        const int clients = 4;
        const int operationsPerClient = 300;
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var recorder = new HistoryRecorder();
        var store = new Dictionary<string, string>();
        var gate = new object();
        using var start = new Barrier(clients);
        // Dedicated threads: a barrier would otherwise wait on the thread pool's slow thread injection.
        var tasks = Enumerable.Range(0, clients).Select(client => Task.Factory.StartNew(() =>
        {
            var random = new Random(seed + client);
            start.SignalAndWait();
            for (var i = 0; i < operationsPerClient; i++)
            {
                var key = "k" + random.Next(3);
                var kind = (KvOperationKind)random.Next(5);
                var value = $"c{client}-{i}";
                var id = recorder.Invoke(client, key, kind, value);
                if (random.Next(20) == 0)
                {
                    recorder.Fail(id);
                    continue;
                }

                string? read;
                bool applied;
                lock (gate)
                {
                    var present = store.TryGetValue(key, out read);
                    applied = kind switch
                    {
                        KvOperationKind.Insert => !present,
                        KvOperationKind.Update or KvOperationKind.Delete => present,
                        _ => true,
                    };
                    if (applied && kind == KvOperationKind.Delete)
                    {
                        store.Remove(key);
                    }
                    else if (applied && kind != KvOperationKind.Read)
                    {
                        store[key] = value;
                    }
                }

                // Some replies are lost after the operation took effect.
                if (random.Next(20) != 0)
                {
                    recorder.Ok(id, read, applied);
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        await Task.WhenAll(tasks);

        var history = recorder.Operations;
        Assert.Equal(clients * operationsPerClient, history.Count);
        var result = LinearizabilityChecker.Check(history);
        output.WriteLine(result.Explanation);
        Assert.True(result.IsLinearizable, result.Explanation);
    }
}
