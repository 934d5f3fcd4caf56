namespace Memo.Node.Storage;

/// <summary>
/// How hard SQLite flushes on commit (<c>PRAGMA synchronous</c>; the values are SQLite's own). In WAL mode,
/// <see cref="Full"/> syncs the log on every commit, so a commit survives power loss; <see cref="Normal"/> syncs
/// only at checkpoints, so a commit survives a process crash but the last commits may be lost on power loss.
/// </summary>
public enum SqliteSynchronousMode
{
    /// <summary>Durable against process crashes only; faster.</summary>
    Normal = 1,

    /// <summary>Durable against power loss (the default).</summary>
    Full = 2,
}
