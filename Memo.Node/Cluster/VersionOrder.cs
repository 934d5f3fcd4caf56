namespace Memo.Node.Cluster;

/// <summary>How one version vector relates to another, read as "this is ... than the other".</summary>
public enum VersionOrder
{
    /// <summary>Equal vectors: the same history.</summary>
    Same = 0,

    /// <summary>This history is a strict prefix of the other's: the other has everything this has and more.</summary>
    Older = 1,

    /// <summary>This history strictly contains the other's.</summary>
    Newer = 2,

    /// <summary>Each has updates the other lacks: the states must be merged.</summary>
    Concurrent = 3,
}
