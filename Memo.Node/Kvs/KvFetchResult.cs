namespace Memo.Node.Kvs;

/// <summary>The outcome of a fetch: a value when <see cref="Status"/> is Ok.</summary>
public readonly record struct KvFetchResult(KvStatus Status, byte[]? Value, string? Message = null);
