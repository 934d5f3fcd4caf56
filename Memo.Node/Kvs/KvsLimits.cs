namespace Memo.Node.Kvs;

/// <summary>Limits of the key-value store.</summary>
/// <param name="MaxKeyBytes">Longest key, in UTF-8 bytes.</param>
/// <param name="MaxValueBytes">Largest value.</param>
/// <param name="MaxListKeys">Cap on a listing's page size (maxKeys).</param>
/// <param name="DefaultListKeys">Page size when maxKeys is 0.</param>
/// <param name="InlineValueBytes">Values up to this size keep their block inside the key's entry (one command in one shard); 0: never.</param>
/// <param name="MaxListRows">The work budget of one listing: most stored rows a node reads for it before it returns
/// what it found, truncated.</param>
/// <param name="KeepVersions">Versions of each key kept, the current one included (<c>memo.network.versions</c>); 1
/// keeps only the current value.</param>
/// <param name="WriteConsistency">When an Upsert that does not say is acknowledged (<c>memo.kvs.write-consistency</c>).</param>
public sealed record KvsLimits(int MaxKeyBytes, long MaxValueBytes, int MaxListKeys, int DefaultListKeys, long InlineValueBytes = 0, int MaxListRows = 100_000,
    int KeepVersions = 1, Configuration.WriteConsistency WriteConsistency = Configuration.WriteConsistency.Majority);
