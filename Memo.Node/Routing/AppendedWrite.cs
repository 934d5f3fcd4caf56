using Memo.Node.Shards;

namespace Memo.Node.Routing;

/// <summary>An async write on its way (<see cref="IShardGateway.ProposeAcknowledgedAtAppend"/>).</summary>
/// <param name="Acknowledged">Completes when the shard leader's log holds the write durably, or as
/// <paramref name="Committed"/> does when that comes first (a refusal, an error, a lone voter's commit).</param>
/// <param name="Committed">The write's result once committed and applied; an exception when it was not (or its fate is unknown).</param>
public readonly record struct AppendedWrite(Task Acknowledged, Task<ShardResult> Committed)
{
    /// <summary>Whichever of the two completes first, with its exception if it failed.</summary>
    internal static async Task FirstOfAsync(Task appended, Task<ShardResult> committed) =>
        await (await Task.WhenAny(appended, committed).ConfigureAwait(false)).ConfigureAwait(false);
}
