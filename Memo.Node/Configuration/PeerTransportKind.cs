namespace Memo.Node.Configuration;

/// <summary>What carries gossip and Raft messages between nodes (<c>memo.node.peer-transport</c>).</summary>
public enum PeerTransportKind
{
    /// <summary>One gRPC Link stream per peer on the public API port (the transport before Akka remoting).</summary>
    Grpc = 0,

    /// <summary>Akka.Remote on the node's remoting port (<c>memo.node.remote</c>): one batching link actor per peer.</summary>
    Akka = 1,
}
