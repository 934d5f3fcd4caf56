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

    /// <summary>Restores every link.</summary>
    public void HealAll() => _blocked.Clear();

    /// <summary>True when messages from <paramref name="from"/> to <paramref name="to"/> are dropped.</summary>
    public bool IsBlocked(NodeId from, NodeId to) => !_blocked.IsEmpty && _blocked.ContainsKey((from, to));
}
