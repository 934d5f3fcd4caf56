namespace Memo.Node.Configuration;

/// <summary>SQLite's <c>PRAGMA synchronous</c> setting for the node's database (<c>memo.storage.synchronous</c>).</summary>
public enum StorageSynchronous
{
    /// <summary>fsync on every commit: an acknowledged write survives power loss on this node.</summary>
    Full = 0,

    /// <summary>fsync at WAL checkpoints only: faster; a power cut may lose this node's last commits, which Raft
    /// restores from the other replicas.</summary>
    Normal = 1,
}
