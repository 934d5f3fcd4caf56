namespace Memo.Node.Kvs;

/// <summary>The outcome of a fetch: a value and the version it is when <see cref="Status"/> is Ok.</summary>
public readonly record struct KvFetchResult(KvStatus Status, byte[]? Value, string? Message = null, ulong Version = 0);
