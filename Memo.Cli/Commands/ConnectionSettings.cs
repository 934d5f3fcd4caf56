using Memo.Protocol.Blocks;
using Memo.Protocol.Client;

namespace Memo.Cli.Commands;

/// <summary>The global options of one invocation.</summary>
/// <param name="Node">The node's gRPC address.</param>
/// <param name="Json">Machine output.</param>
/// <param name="Timeout">The per-call limit.</param>
/// <param name="Ca">The network CA certificate file, for TLS; null for cleartext.</param>
/// <param name="As">The user to act as (<c>--as</c>): its key and passport sign every call; null for anonymous calls.</param>
/// <param name="PassportFile">The passport to present instead of the one stored for <paramref name="As"/>.</param>
/// <param name="Home">The config folder holding users and passports (<see cref="Users.UserStore"/>); null for the default
/// (<c>$MEMO_HOME</c>, <c>$XDG_CONFIG_HOME/memo</c>, <c>~/.config/memo</c>), resolved when it is used.</param>
internal sealed record ConnectionSettings(string Node, bool Json, TimeSpan Timeout, string? Ca = null, string? As = null, string? PassportFile = null, string? Home = null)
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

    /// <summary>The users and passports folder.</summary>
    public Users.UserStore Users => new(Home ?? Memo.Cli.Users.UserStore.DefaultHome(Environment.GetEnvironmentVariable));

    /// <summary>A client for the node, with <see cref="Timeout"/> as its per-call limit, signing as <see cref="As"/> when given.</summary>
    public MemoClient Connect() => new(Node, new MemoClientOptions
    {
        Timeout = Timeout,
        Channel = ChannelOptions,
        CaCertificateFile = Ca,
        Credentials = As is null ? null : Users.LoadCredentials(As, PassportFile),
    });
}
