using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Client;

/// <summary>The outcome of a mutable block update: stored, or a version conflict carrying the stored block.</summary>
public abstract record BlockUpdateResult
{
    private BlockUpdateResult() { }

    /// <summary>The new version is stored.</summary>
    public static BlockUpdateResult Updated { get; } = new UpdatedResult();

    /// <summary>Another version won; <paramref name="Current"/> is the block as stored now.</summary>
    public sealed record Conflict(Block Current) : BlockUpdateResult;

    private sealed record UpdatedResult : BlockUpdateResult;
}
