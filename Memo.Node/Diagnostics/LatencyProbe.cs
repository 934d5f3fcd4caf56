using System.Diagnostics;

namespace Memo.Node.Diagnostics;

/// <summary>
/// Timestamps of the points one write passes on its way through a node (API, replica turn, silo commit, peer link,
/// peer inbox), for the latency breakdown in docs/performance.md. Off unless the environment variable
/// <c>MEMO_LATENCY_PROBE</c> names a file prefix; then each process appends <c>stage aux timestamp</c> lines to
/// <c>PREFIX.PID</c> once a second. Timestamps are <see cref="Stopwatch.GetTimestamp"/>, the system-wide monotonic
/// clock on Linux, so the files of several node processes on one machine merge into one timeline
/// (scripts/latency-path.py).
/// </summary>
internal static class LatencyProbe
{
    private const int Capacity = 1 << 22;

    /// <summary>Whether marks are recorded (read once at start: a disabled probe costs one branch per mark).</summary>
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("MEMO_LATENCY_PROBE") is { Length: > 0 };

    private static readonly long[] Timestamps = Enabled ? new long[Capacity] : [];
    private static readonly int[] Stages = Enabled ? new int[Capacity] : [];
    private static readonly long[] Aux = Enabled ? new long[Capacity] : [];
    private static int _count;

    static LatencyProbe()
    {
        if (!Enabled)
        {
            return;
        }
        var path = $"{Environment.GetEnvironmentVariable("MEMO_LATENCY_PROBE")}.{Environment.ProcessId}";
        var thread = new Thread(() => WriteLoop(path)) { IsBackground = true, Name = "memo-latency-probe" };
        thread.Start();
    }

    /// <summary>Records that <paramref name="stage"/> was reached now.</summary>
    public static void Mark(ProbeStage stage, long aux = 0)
    {
        if (!Enabled)
        {
            return;
        }
        var i = Interlocked.Increment(ref _count) - 1;
        if (i >= Capacity)
        {
            return;
        }
        Aux[i] = aux;
        Stages[i] = (int)stage;
        Volatile.Write(ref Timestamps[i], Stopwatch.GetTimestamp());
    }

    private static void WriteLoop(string path)
    {
        var written = 0;
        using var writer = new StreamWriter(path, append: false);
        writer.WriteLine($"# frequency {Stopwatch.Frequency}");
        while (true)
        {
            Thread.Sleep(1000);
            var end = Math.Min(Volatile.Read(ref _count), Capacity);
            for (; written < end; written++)
            {
                long stamp;
                var spins = 0;
                while ((stamp = Volatile.Read(ref Timestamps[written])) == 0 && spins++ < 1000)
                {
                    Thread.SpinWait(10);
                }
                writer.WriteLine($"{(ProbeStage)Stages[written]} {Aux[written]} {stamp}");
            }
            writer.Flush();
        }
    }
}

/// <summary>The points <see cref="LatencyProbe"/> marks.</summary>
internal enum ProbeStage
{
    /// <summary>A key-value write arrived at the API.</summary>
    ApiIn = 1,
    /// <summary>Its answer leaves the API.</summary>
    ApiOut,
    /// <summary>A replica turn stepped a proposal into the Raft core.</summary>
    Propose,
    /// <summary>A replica turn started (aux: inputs taken).</summary>
    TurnStart,
    /// <summary>A replica turn stepped a Raft message (aux: kind).</summary>
    TurnInbound,
    /// <summary>A replica handed a Raft message to the transport (aux: kind).</summary>
    Send,
    /// <summary>A replica turn's silo commit started (aux: 1 when flushed).</summary>
    CommitStart,
    /// <summary>Its commit ended (the turn's continuation runs).</summary>
    CommitEnd,
    /// <summary>A replica completed a proposal.</summary>
    Completed,
    /// <summary>A peer link actor told the remote inbox a batch (aux: frames).</summary>
    LinkFlush,
    /// <summary>The peer inbox received a batch (aux: frames).</summary>
    InboxReceive,
    /// <summary>The node's inbound pump routed a peer message.</summary>
    Pump,
    /// <summary>The silo writer thread started a transaction (aux: batches).</summary>
    SiloBegin,
    /// <summary>The silo writer finished it (after the fsync when flushed).</summary>
    SiloEnd,
    /// <summary>The replica actor got its turn-done message.</summary>
    TurnDone,
    /// <summary>A shard request was forwarded to another node's leader.</summary>
    ForwardOut,
    /// <summary>A forwarded request's answer arrived.</summary>
    ForwardBack,
    /// <summary>A replica facade queued a proposal in its inbox (before the wake).</summary>
    Queued,
}

/// <summary>Marks a stage when disposed (the end of a scope).</summary>
internal readonly struct ProbeAtEnd(ProbeStage stage) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose() => LatencyProbe.Mark(stage);
}
