namespace Memo.Testing.Linearizability;

/// <summary>
/// One client operation of a recorded history.
/// </summary>
/// <param name="Id">Identifier returned by <see cref="HistoryRecorder.Invoke"/>; unique within a history.</param>
/// <param name="ClientId">The client that issued it (informational: the checker does not assume per-client order).</param>
/// <param name="Key">The key it touches; histories are checked key by key.</param>
/// <param name="Kind">The operation.</param>
/// <param name="Input">The value written (Upsert/Insert/Update); null for Read and Delete.</param>
/// <param name="InvokedAt">Time the client sent it.</param>
/// <param name="ReturnedAt">Time the client saw its result; null when <paramref name="Outcome"/> is not Ok.</param>
/// <param name="Outcome">Ok, Failed, or Unknown.</param>
/// <param name="Output">For an Ok Read, the value it returned (null = absent); otherwise null.</param>
/// <param name="Applied">For an Ok write, whether the model's precondition held and the write took effect.</param>
public sealed record HistoryOperation(
    int Id,
    int ClientId,
    string Key,
    KvOperationKind Kind,
    string? Input,
    long InvokedAt,
    long? ReturnedAt,
    HistoryOutcome Outcome,
    string? Output,
    bool Applied)
{
    /// <summary>A one-line description for failure reports, e.g. <c>#12 c3 Insert "v" -> rejected [5..9]</c>.</summary>
    public override string ToString()
    {
        var input = Kind is KvOperationKind.Upsert or KvOperationKind.Insert or KvOperationKind.Update ? " " + Quote(Input) : "";
        var result = Outcome switch
        {
            HistoryOutcome.Ok when Kind == KvOperationKind.Read => " -> " + Quote(Output),
            HistoryOutcome.Ok => Applied ? " -> applied" : " -> rejected",
            HistoryOutcome.Failed => " -> failed",
            _ => " -> unknown",
        };
        var span = ReturnedAt is { } r ? $"[{InvokedAt}..{r}]" : $"[{InvokedAt}..]";
        return $"#{Id} c{ClientId} {Kind}{input}{result} {span}";
    }

    internal static string Quote(string? value) => value is null ? "<absent>" : "\"" + value + "\"";
}
