namespace Memo.Node.Hosting;

/// <summary>Why a <see cref="MemoNode"/> stopped.</summary>
public enum MemoNodeExit
{
    /// <summary>Its owner stopped it (SIGTERM, <see cref="MemoNode.StopAsync"/>); it is still a member and rejoins when
    /// restarted on its data folder.</summary>
    Stopped = 0,

    /// <summary>It left the cluster (<c>memo cluster leave</c>) after handing its shard replicas off.</summary>
    Left = 1,

    /// <summary>The cluster downed it (the minority side of a partition, or <c>memo cluster down</c>); its NodeId is
    /// retired.</summary>
    Downed = 2,
}
