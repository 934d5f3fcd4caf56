namespace Memo.Node.Configuration;

/// <summary>How key-value reads are served (<c>memo.kvs.read-consistency</c>). Persisted in configuration only.</summary>
public enum ReadConsistency
{
    /// <summary>Every Fetch confirms the shard leader's leadership (Raft ReadIndex) first: never stale.</summary>
    Linearizable = 0,

    /// <summary>A node holding a replica of the key's shard answers from its own copy, which may lag the leader.</summary>
    Stale = 1,
}
