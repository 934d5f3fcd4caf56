using Memo.Protocol.Client;

namespace Memo.Cli.Commands;

/// <summary>The global options of one invocation.</summary>
internal sealed record ConnectionSettings(string Node, bool Json, TimeSpan Timeout)
{
    /// <summary>A client for the node, with <see cref="Timeout"/> as its per-call limit.</summary>
    public MemoClient Connect() => new(Node, new MemoClientOptions { Timeout = Timeout });
}
