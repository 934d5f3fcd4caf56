using System.Collections.Concurrent;

namespace Memo.Testing.Nemesis;

/// <summary>
/// The faults in force on every directed link between nodes (by node index), read by every <see cref="LinkProxy"/> for
/// each chunk it forwards. Thread-safe. A connection whose dialler is not a node (index -1: a CLI, the test) is never
/// faulted.
/// </summary>
public sealed class LinkFaults
{
    private readonly ConcurrentDictionary<(int From, int To), LinkFault> _links = new();

    /// <summary>The fault on bytes from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public LinkFault Get(int from, int to) =>
        from < 0 || to < 0 ? LinkFault.None : _links.GetValueOrDefault((from, to), LinkFault.None);

    /// <summary>Sets the fault on bytes from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public void Set(int from, int to, LinkFault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        if (from == to)
        {
            throw new ArgumentException($"node {from} has no link to itself");
        }
        if (fault.IsNone)
        {
            _links.TryRemove((from, to), out _);
        }
        else
        {
            _links[(from, to)] = fault;
        }
    }

    /// <summary>Cuts both directions between every node of <paramref name="side"/> and every node of <paramref name="other"/>.</summary>
    public void Partition(IEnumerable<int> side, IEnumerable<int> other)
    {
        var others = other.ToList();
        foreach (var a in side)
        {
            foreach (var b in others.Where(b => b != a))
            {
                Set(a, b, LinkFault.Severed);
                Set(b, a, LinkFault.Severed);
            }
        }
    }

    /// <summary>Heals every link.</summary>
    public void HealAll() => _links.Clear();

    /// <summary>The links with a fault, for logs.</summary>
    public override string ToString() =>
        _links.IsEmpty ? "all links healthy" : string.Join("; ", _links.OrderBy(l => l.Key).Select(l => $"{l.Key.From}->{l.Key.To}: {l.Value}"));
}
