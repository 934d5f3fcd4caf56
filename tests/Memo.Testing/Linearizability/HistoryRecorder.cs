namespace Memo.Testing.Linearizability;

/// <summary>
/// Records client operations for <see cref="LinearizabilityChecker"/>. Thread-safe: concurrent clients call
/// <see cref="Invoke"/> just before sending a request and <see cref="Ok"/> or <see cref="Fail"/> just after seeing its
/// result; an operation never completed stays <see cref="HistoryOutcome.Unknown"/>.
/// </summary>
/// <remarks>
/// Timestamps come from the supplied clock (e.g. a simulator's logical time), or by default from a counter that
/// increments on every event, which gives the real-time order of events as this recorder saw them. The clock is read
/// under the recorder's lock, so timestamps never decrease in recording order. With a supplied clock, equal timestamps
/// are allowed and are treated as concurrent.
/// </remarks>
public sealed class HistoryRecorder
{
    /// <summary>Caps a runaway test: a history beyond this many operations is a bug in the caller.</summary>
    public const int MaxOperations = 10_000_000;

    private readonly object _lock = new();
    private readonly Func<long>? _clock;
    private readonly List<Entry> _entries = [];
    private long _counter;

    /// <summary>Creates a recorder.</summary>
    /// <param name="clock">Source of timestamps; null for an internal counter incremented on each event.</param>
    public HistoryRecorder(Func<long>? clock = null)
    {
        _clock = clock;
    }

    /// <summary>Records the start of an operation and returns its id (for <see cref="Ok"/> / <see cref="Fail"/>).</summary>
    /// <param name="clientId">The issuing client.</param>
    /// <param name="key">The key touched.</param>
    /// <param name="kind">The operation.</param>
    /// <param name="value">The value written by Upsert/Insert/Update; ignored (stored as null) for Read and Delete.</param>
    public int Invoke(int clientId, string key, KvOperationKind kind, string? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown operation kind");
        }

        var input = kind is KvOperationKind.Read or KvOperationKind.Delete ? null : value;
        lock (_lock)
        {
            if (_entries.Count >= MaxOperations)
            {
                throw new InvalidOperationException($"history exceeds {MaxOperations} operations");
            }

            var id = _entries.Count;
            _entries.Add(new Entry(clientId, key, kind, input, Now()));
            return id;
        }
    }

    /// <summary>Records that an operation completed with a known result.</summary>
    /// <param name="operationId">The id returned by <see cref="Invoke"/>.</param>
    /// <param name="readValue">For a Read, the value returned (null = key absent); ignored for writes.</param>
    /// <param name="applied">For a write, false when the model's precondition rejected it (Insert on an existing key,
    /// Update/Delete on a missing key); ignored for reads.</param>
    public void Ok(int operationId, string? readValue = null, bool applied = true)
    {
        lock (_lock)
        {
            var entry = Pending(operationId);
            entry.ReturnedAt = Now();
            entry.Outcome = HistoryOutcome.Ok;
            entry.Output = entry.Kind == KvOperationKind.Read ? readValue : null;
            entry.Applied = entry.Kind == KvOperationKind.Read || applied;
        }
    }

    /// <summary>Records that an operation definitely did not take effect; the checker ignores it.</summary>
    /// <param name="operationId">The id returned by <see cref="Invoke"/>.</param>
    public void Fail(int operationId)
    {
        lock (_lock)
        {
            var entry = Pending(operationId);
            entry.ReturnedAt = Now();
            entry.Outcome = HistoryOutcome.Failed;
        }
    }

    /// <summary>A snapshot of the history so far, in invocation order; uncompleted operations are Unknown.</summary>
    public IReadOnlyList<HistoryOperation> Operations
    {
        get
        {
            lock (_lock)
            {
                var result = new HistoryOperation[_entries.Count];
                for (var i = 0; i < result.Length; i++)
                {
                    var e = _entries[i];
                    result[i] = new HistoryOperation(
                        i, e.ClientId, e.Key, e.Kind, e.Input, e.InvokedAt, e.ReturnedAt, e.Outcome, e.Output, e.Applied);
                }

                return result;
            }
        }
    }

    private long Now() => _clock is null ? ++_counter : _clock();

    private Entry Pending(int operationId)
    {
        if ((uint)operationId >= (uint)_entries.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(operationId), operationId, "no such operation");
        }

        var entry = _entries[operationId];
        if (entry.Outcome != HistoryOutcome.Unknown)
        {
            // Completing twice is a bug in the harness; silently keeping either result would corrupt the history.
            throw new InvalidOperationException($"operation {operationId} already completed as {entry.Outcome}");
        }

        return entry;
    }

    private sealed class Entry(int clientId, string key, KvOperationKind kind, string? input, long invokedAt)
    {
        public int ClientId { get; } = clientId;

        public string Key { get; } = key;

        public KvOperationKind Kind { get; } = kind;

        public string? Input { get; } = input;

        public long InvokedAt { get; } = invokedAt;

        public long? ReturnedAt { get; set; }

        public HistoryOutcome Outcome { get; set; } = HistoryOutcome.Unknown;

        public string? Output { get; set; }

        public bool Applied { get; set; }
    }
}
