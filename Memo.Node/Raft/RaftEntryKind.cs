namespace Memo.Node.Raft;

/// <summary>What a log entry carries. Persisted and sent on the wire: values are fixed forever.</summary>
public enum RaftEntryKind
{
    /// <summary>An application command (or an empty entry a new leader appends to commit its term).</summary>
    Normal = 0,

    /// <summary>A one-server membership change, encoded by <see cref="ConfigChange.Encode"/>.</summary>
    ConfigChange = 1,
}
