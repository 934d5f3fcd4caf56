namespace Memo.Cli.Commands;

/// <summary>The membership changes <c>memo cluster</c> can ask for.</summary>
internal enum ClusterChange
{
    /// <summary>Join a cluster through a seed.</summary>
    Join,

    /// <summary>Leave gracefully.</summary>
    Leave,

    /// <summary>Declare a member dead.</summary>
    Down,
}
