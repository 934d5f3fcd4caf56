namespace Memo.Node.Kvs;

/// <summary>The outcome of a key-value write or delete; <see cref="Message"/> explains a non-Ok status.</summary>
public readonly record struct KvOutcome(KvStatus Status, string? Message = null)
{
    /// <summary>Success.</summary>
    public static KvOutcome Ok => new(KvStatus.Ok);
}
