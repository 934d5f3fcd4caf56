using Memo.Testing.Linearizability;

namespace Memo.Raft.Tests.Linearizability;

/// <summary>Hand-written histories with explicit times: <c>[from..to]</c> is when the client sent and saw the result.</summary>
internal sealed class HistoryBuilder
{
    private readonly List<HistoryOperation> _ops = [];

    public IReadOnlyList<HistoryOperation> Operations => _ops;

    public HistoryBuilder Read(string key, string? value, long from, long to, int client = 0) =>
        Add(client, key, KvOperationKind.Read, null, from, to, HistoryOutcome.Ok, value, true);

    public HistoryBuilder Upsert(string key, string value, long from, long to, int client = 0) =>
        Add(client, key, KvOperationKind.Upsert, value, from, to, HistoryOutcome.Ok, null, true);

    public HistoryBuilder Insert(string key, string value, long from, long to, bool applied = true, int client = 0) =>
        Add(client, key, KvOperationKind.Insert, value, from, to, HistoryOutcome.Ok, null, applied);

    public HistoryBuilder Update(string key, string value, long from, long to, bool applied = true, int client = 0) =>
        Add(client, key, KvOperationKind.Update, value, from, to, HistoryOutcome.Ok, null, applied);

    public HistoryBuilder Delete(string key, long from, long to, bool applied = true, int client = 0) =>
        Add(client, key, KvOperationKind.Delete, null, from, to, HistoryOutcome.Ok, null, applied);

    /// <summary>A write whose result the client never saw.</summary>
    public HistoryBuilder Unknown(string key, KvOperationKind kind, string? value, long from, int client = 0) =>
        Add(client, key, kind, value, from, null, HistoryOutcome.Unknown, null, false);

    /// <summary>An operation that definitely did not take effect.</summary>
    public HistoryBuilder Failed(string key, KvOperationKind kind, string? value, long from, long to, int client = 0) =>
        Add(client, key, kind, value, from, to, HistoryOutcome.Failed, null, false);

    /// <summary>Adds an operation as given (for shapes the helpers above cannot express).</summary>
    public HistoryBuilder Add(HistoryOperation operation)
    {
        _ops.Add(operation);
        return this;
    }

    private HistoryBuilder Add(
        int client, string key, KvOperationKind kind, string? input, long from, long? to, HistoryOutcome outcome,
        string? output, bool applied)
    {
        _ops.Add(new HistoryOperation(_ops.Count, client, key, kind, input, from, to, outcome, output, applied));
        return this;
    }
}
