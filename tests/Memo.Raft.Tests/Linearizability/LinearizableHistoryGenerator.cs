using Memo.Testing.Linearizability;

namespace Memo.Raft.Tests.Linearizability;

/// <summary>
/// Generates histories that are linearizable by construction: simulated clients run operations against an atomic
/// in-memory map; each operation takes effect at one instant strictly between its invocation and its return, so the
/// order of those instants is a linearization. Some operations are abandoned (Unknown), some after taking effect, some
/// before, and of those some still take effect later or never; some are rejected (Failed) without taking effect.
/// </summary>
internal sealed class LinearizableHistoryGenerator(int seed)
{
    private static readonly KvOperationKind[] Kinds = Enum.GetValues<KvOperationKind>();

    private readonly Random _random = new(seed);

    /// <summary>Number of keys to spread operations over.</summary>
    public int Keys { get; init; } = 2;

    /// <summary>Number of concurrent clients; each has at most one operation in flight.</summary>
    public int Clients { get; init; } = 3;

    /// <summary>How many distinct values writes choose from; small values make writes collide.</summary>
    public int Values { get; init; } = 3;

    /// <summary>Chance that an operation in flight is abandoned (its result is never seen).</summary>
    public double UnknownRate { get; init; } = 0.1;

    /// <summary>Chance that an operation not yet applied is rejected as Failed.</summary>
    public double FailRate { get; init; } = 0.05;

    /// <summary>Ticks per recorded time unit; above 1, distinct events share timestamps (coarse clocks).</summary>
    public int TimeGranularity { get; init; } = 1;

    /// <summary>Generates a history of <paramref name="operations"/> invocations.</summary>
    public List<HistoryOperation> Generate(int operations)
    {
        var store = new Dictionary<string, string>(StringComparer.Ordinal);
        var history = new List<HistoryOperation>();
        var inFlight = new InFlight?[Clients];
        var zombies = new List<InFlight>(); // abandoned before taking effect; may still take effect later
        var invoked = 0;
        long tick = 0;
        while (invoked < operations || inFlight.Any(f => f is not null))
        {
            tick++;
            var now = tick / TimeGranularity;
            var client = _random.Next(Clients);
            if (zombies.Count > 0 && _random.NextDouble() < 0.1)
            {
                var zombie = zombies[_random.Next(zombies.Count)];
                zombies.Remove(zombie);
                if (_random.NextDouble() < 0.6)
                {
                    Apply(store, zombie);
                }

                continue;
            }

            var current = inFlight[client];
            if (current is null)
            {
                if (invoked < operations)
                {
                    inFlight[client] = Invoke(history, client, now);
                    invoked++;
                }

                continue;
            }

            var roll = _random.NextDouble();
            if (!current.Applied)
            {
                if (roll < UnknownRate)
                {
                    zombies.Add(current);
                    inFlight[client] = null;
                }
                else if (roll < UnknownRate + FailRate)
                {
                    history[current.Id] = history[current.Id] with { ReturnedAt = now, Outcome = HistoryOutcome.Failed };
                    inFlight[client] = null;
                }
                else
                {
                    Apply(store, current);
                }
            }
            else
            {
                if (roll >= UnknownRate)
                {
                    history[current.Id] = history[current.Id] with
                    {
                        ReturnedAt = now,
                        Outcome = HistoryOutcome.Ok,
                        Output = current.Output,
                        Applied = current.WriteApplied,
                    };
                }

                inFlight[client] = null;
            }
        }

        return history;
    }

    private InFlight Invoke(List<HistoryOperation> history, int client, long now)
    {
        var key = "k" + _random.Next(Keys);
        var kind = Kinds[_random.Next(Kinds.Length)];
        var value = kind is KvOperationKind.Read or KvOperationKind.Delete ? null : "v" + _random.Next(Values);
        var id = history.Count;
        history.Add(new HistoryOperation(id, client, key, kind, value, now, null, HistoryOutcome.Unknown, null, false));
        return new InFlight(id, key, kind, value);
    }

    private static void Apply(Dictionary<string, string> store, InFlight op)
    {
        var present = store.TryGetValue(op.Key, out var current);
        op.Applied = true;
        switch (op.Kind)
        {
            case KvOperationKind.Read:
                op.Output = current;
                op.WriteApplied = true;
                return;
            case KvOperationKind.Upsert:
                op.WriteApplied = true;
                break;
            case KvOperationKind.Insert:
                op.WriteApplied = !present;
                break;
            default:
                op.WriteApplied = present;
                break;
        }

        if (!op.WriteApplied)
        {
            return;
        }

        if (op.Kind == KvOperationKind.Delete)
        {
            store.Remove(op.Key);
        }
        else
        {
            store[op.Key] = op.Value!;
        }
    }

    private sealed class InFlight(int id, string key, KvOperationKind kind, string? value)
    {
        public int Id { get; } = id;

        public string Key { get; } = key;

        public KvOperationKind Kind { get; } = kind;

        public string? Value { get; } = value;

        /// <summary>Took effect on the store (the linearization point has passed).</summary>
        public bool Applied { get; set; }

        public string? Output { get; set; }

        public bool WriteApplied { get; set; }
    }
}
