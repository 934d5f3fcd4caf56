using System.Collections.Frozen;

namespace Memo.Node.Configuration;

/// <summary>Which transport carries Raft and forwarding messages between nodes.</summary>
public enum PeerTransportKind
{
    /// <summary>Akka.Remote, on the remoting port (<c>memo.node.remote</c>), beside membership and admin traffic (the
    /// default until the TCP transport replaced it).</summary>
    Akka,

    /// <summary>A TCP stream per peer and direction on a port of its own (<c>memo.node.peer</c>); mutual TLS with the
    /// node certificate when remoting has it. The default.</summary>
    Tcp,
}

/// <summary>The node-to-node data channel (<c>memo.peer</c>): Raft messages and forwarded calls.</summary>
/// <param name="Transport">The node's own TCP streams (the default) or Akka.Remote; every member of a network must use
/// the same (a node on one cannot reach a node on the other, so a member on the other is never placed and a node that
/// joined a cluster on the other stops: <c>AkkaMemberMapping.PeerTransportMismatch</c>).</param>
public sealed record PeerOptions(PeerTransportKind Transport)
{
    internal const string Path = "memo.peer";

    private static readonly FrozenDictionary<string, PeerTransportKind> TransportChoices =
        new Dictionary<string, PeerTransportKind>(StringComparer.Ordinal)
        {
            ["akka"] = PeerTransportKind.Akka,
            ["tcp"] = PeerTransportKind.Tcp,
        }.ToFrozenDictionary(StringComparer.Ordinal);

    internal static PeerOptions Read(OptionsReader r) => new(r.Choice($"{Path}.transport", TransportChoices));
}
