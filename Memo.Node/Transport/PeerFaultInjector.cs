using System.Collections.Concurrent;

namespace Memo.Node.Transport;

/// <summary>
/// Test seam for the real peer transport: a shared, thread-safe set of blocked directed links. Install the same
/// injector on every node of an in-process cluster (<see cref="AkkaPeerTransport.FaultInjector"/>) to partition and heal
/// links while the nodes keep running. A blocked message is dropped as if the peer were unreachable, on the sending
/// side and again on the receiving side (so a partition also cuts streams that were open before it).
/// </summary>
public sealed class PeerFaultInjector
{
    private readonly ConcurrentDictionary<(NodeId From, NodeId To), byte> _blocked = new();
    private readonly ConcurrentDictionary<(NodeId From, NodeId To, PeerChannelKind Channel), byte> _lost = new();
    private long _lostCount;

    /// <summary>Drops everything sent from <paramref name="from"/> to <paramref name="to"/> (one direction).</summary>
    public void Block(NodeId from, NodeId to) => _blocked[(from, to)] = 0;

    /// <summary>Cuts both directions between every node of one side and every node of the other.</summary>
    public void Partition(IEnumerable<NodeId> side, IEnumerable<NodeId> otherSide)
    {
        var others = otherSide.ToList();
        foreach (var a in side)
        {
            foreach (var b in others)
            {
                Block(a, b);
                Block(b, a);
            }
        }
    }

    /// <summary>Cuts a node off from every other node listed.</summary>
    public void Isolate(NodeId node, IEnumerable<NodeId> everyone) => Partition([node], everyone.Where(n => n != node));

    /// <summary>
    /// Loses every message of <paramref name="channel"/> from <paramref name="from"/> to <paramref name="to"/> in flight:
    /// the sender sends and counts it, the receiver drops it on arrival. Unlike <see cref="Block"/>, the sender cannot
    /// tell (a request whose reply never comes).
    /// </summary>
    public void Lose(NodeId from, NodeId to, PeerChannelKind channel) => _lost[(from, to, channel)] = 0;

    /// <summary>Restores every link.</summary>
    public void HealAll()
    {
        _blocked.Clear();
        _lost.Clear();
    }

    /// <summary>True when messages from <paramref name="from"/> to <paramref name="to"/> are dropped.</summary>
    public bool IsBlocked(NodeId from, NodeId to) => !_blocked.IsEmpty && _blocked.ContainsKey((from, to));

    /// <summary>Messages lost in flight so far (<see cref="Lose"/>).</summary>
    public long LostCount => Interlocked.Read(ref _lostCount);

    /// <summary>True (and counted in <see cref="LostCount"/>) when a message of <paramref name="channel"/> from
    /// <paramref name="from"/> to <paramref name="to"/> is to be lost on arrival (<see cref="Lose"/>).</summary>
    public bool Loses(NodeId from, NodeId to, PeerChannelKind channel)
    {
        if (_lost.IsEmpty || !_lost.ContainsKey((from, to, channel)))
        {
            return false;
        }
        Interlocked.Increment(ref _lostCount);
        return true;
    }
}
