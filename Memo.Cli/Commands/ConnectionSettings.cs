using Memo.Protocol.Blocks;
using Memo.Protocol.Client;

namespace Memo.Cli.Commands;

/// <summary>The global options of one invocation.</summary>
internal sealed record ConnectionSettings(string Node, bool Json, TimeSpan Timeout, string? Ca = null)
{
    /// <summary>
    /// The channel settings of every connection the CLI opens (commands and both <c>bench kv</c> targets). Message
    /// limits are large enough for the largest block (<see cref="BlockLimits.MaxDataBytes"/>) plus its other
    /// fields; the channel's 16 MiB default would refuse a value of exactly that size.
    /// </summary>
    public static MemoChannelOptions ChannelOptions { get; } = new()
    {
        MaxSendMessageSize = BlockLimits.MaxDataBytes + 1024 * 1024,
        MaxReceiveMessageSize = BlockLimits.MaxDataBytes + 1024 * 1024,
    };

    /// <summary>A client for the node, with <see cref="Timeout"/> as its per-call limit.</summary>
    public MemoClient Connect() => new(Node, new MemoClientOptions { Timeout = Timeout, Channel = ChannelOptions, CaCertificateFile = Ca });
}
