namespace Memo.Node.Kvs;

/// <summary>Stored data failed its integrity check (a block that does not match its address, an entry pointing nowhere).</summary>
public sealed class StorageCorruptionException(string message) : Exception(message);
