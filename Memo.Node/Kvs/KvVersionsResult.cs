namespace Memo.Node.Kvs;

/// <summary>The outcome of listing a key's versions: the kept versions, newest (the current value) first, when
/// <see cref="Status"/> is Ok.</summary>
public sealed record KvVersionsResult(KvStatus Status, IReadOnlyList<ulong> Versions, string? Message = null);
