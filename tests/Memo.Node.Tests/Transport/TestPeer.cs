using Memo.Node.Transport;

namespace Memo.Node.Tests.Transport;

/// <summary>A node started by a contract harness: its transport, where it listens, and how to take it down.</summary>
public sealed class TestPeer(IPeerTransport transport, string address, PeerTransportOptions options, string networkId, Func<ValueTask> stop) : IAsyncDisposable
{
    private int _stopped;

    public IPeerTransport Transport { get; } = transport;

    public NodeId Node => Transport.LocalNode;

    public string Address { get; } = address;

    public PeerTransportOptions Options { get; } = options;

    public string NetworkId { get; } = networkId;

    /// <summary>Sends to <paramref name="to"/> at its address.</summary>
    public bool Send(TestPeer to, PeerMessage message) => Transport.Send(to.Node, to.Address, message);

    public PeerLinkStats? StatsFor(TestPeer peer) => Transport.GetLinkStats(peer.Node);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await stop();
        }
    }

    public override string ToString() => $"node {Node} at {Address}";
}
