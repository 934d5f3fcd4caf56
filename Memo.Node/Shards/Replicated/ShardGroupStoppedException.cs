namespace Memo.Node.Shards.Replicated;

/// <summary>
/// The shard group replica has stopped and does no more work: a Raft invariant was violated or the silo failed a
/// commit (its in-memory log already reflected the staged writes), or it was disposed. Pending and new requests
/// fail with this exception; the inner exception, when present, is the cause.
/// </summary>
public sealed class ShardGroupStoppedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ShardGroupStoppedException(string message, Exception? cause = null) : base(message, cause)
    {
    }
}
