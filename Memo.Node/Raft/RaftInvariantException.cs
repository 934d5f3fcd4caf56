namespace Memo.Node.Raft;

/// <summary>
/// A Raft safety invariant was violated (corrupt storage, a bug, or a misbehaving host). The replica must stop:
/// continuing could acknowledge or apply data inconsistently. Never caught inside the core.
/// </summary>
public sealed class RaftInvariantException : Exception
{
    /// <summary>Creates the exception with a description of the violated invariant.</summary>
    public RaftInvariantException(string message) : base("Raft invariant violated: " + message)
    {
    }

    /// <summary>Throws when <paramref name="violated"/> is true.</summary>
    public static void ThrowIf(bool violated, string message)
    {
        if (violated)
        {
            throw new RaftInvariantException(message);
        }
    }
}
