using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;

namespace Memo.Node.Kvs;

/// <summary>
/// An authenticated key-value caller: the user (who owns the value blocks it writes, not the node) and the proof its
/// write or delete carries to the key's shard, where every replica checks it (<see cref="WriterProof"/>).
/// </summary>
/// <param name="User">The caller's key, from its verified passport.</param>
/// <param name="Proof">The passport and signed call token, and for a write the value's digest.</param>
public sealed record KvCaller(MemoPublicKey User, WriterProof Proof);
