namespace Memo.Cli.Bench;

/// <summary>The store a <c>memo bench kv</c> run loads.</summary>
internal enum BenchTargetKind
{
    /// <summary>A Memo node's key-value store (<c>memo.kvs.KeyValueStore</c> Upsert and Fetch).</summary>
    Memo,

    /// <summary>An etcd 3.4 member's v3 KV API (<c>etcdserverpb.KV</c> Put and linearizable Range).</summary>
    Etcd,
}
