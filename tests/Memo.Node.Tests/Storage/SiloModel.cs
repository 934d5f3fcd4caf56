using System.Text;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;

namespace Memo.Node.Tests.Storage;

/// <summary>
/// The naive reference a silo is checked against: plain sorted dictionaries, keys ordered by comparing their
/// UTF-8 encodings byte by byte (deliberately not <see cref="EntryKeyOrder"/>, so the order is checked too).
/// </summary>
internal sealed class SiloModel
{
    public static readonly IComparer<string> Utf8ByteOrder = Comparer<string>.Create(
        (a, b) => Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b)));

    public SortedDictionary<string, (ShardId Shard, byte[] Value)> Entries { get; } = new(Utf8ByteOrder);

    public Dictionary<BlockAddress, (ShardId Shard, byte[] Data)> Blocks { get; } = [];

    public Dictionary<string, byte[]> Meta { get; } = new(StringComparer.Ordinal);

    public Dictionary<ShardId, byte[]> RaftStates { get; } = [];

    public Dictionary<ShardId, SortedDictionary<ulong, (Term Term, byte[] Data)>> Logs { get; } = [];

    public void Apply(SiloOperation operation)
    {
        switch (operation)
        {
            case SiloOperation.PutBlock op:
                Blocks[op.Address] = (op.Shard, op.Data);
                break;
            case SiloOperation.DeleteBlock op:
                Blocks.Remove(op.Address);
                break;
            case SiloOperation.PutEntry op:
                Entries[op.Key] = (op.Shard, op.Value);
                break;
            case SiloOperation.DeleteEntry op:
                Entries.Remove(op.Key);
                break;
            case SiloOperation.PutMeta op:
                Meta[op.Name] = op.Value;
                break;
            case SiloOperation.PutRaftState op:
                RaftStates[op.Shard] = op.State;
                break;
            case SiloOperation.AppendLog op:
                Log(op.Shard)[op.Index.Value] = (op.Term, op.Data);
                break;
            case SiloOperation.TruncateLogAfter op:
                foreach (var index in Log(op.Shard).Keys.Where(i => i > op.LastKept.Value).ToList())
                {
                    Log(op.Shard).Remove(index);
                }
                break;
            case SiloOperation.CompactLogThrough op:
                foreach (var index in Log(op.Shard).Keys.Where(i => i <= op.Through.Value).ToList())
                {
                    Log(op.Shard).Remove(index);
                }
                break;
            case SiloOperation.ClearShard op:
                foreach (var address in Blocks.Where(b => b.Value.Shard == op.Shard).Select(b => b.Key).ToList())
                {
                    Blocks.Remove(address);
                }
                foreach (var key in Entries.Where(e => e.Value.Shard == op.Shard).Select(e => e.Key).ToList())
                {
                    Entries.Remove(key);
                }
                RaftStates.Remove(op.Shard);
                Logs.Remove(op.Shard);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(operation), operation, "unknown operation");
        }
    }

    public IEnumerable<(string Key, ShardId Shard, byte[] Value)> Scan(string prefix, string? after, int limit) =>
        Entries
            .Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal) && (after is null || Utf8ByteOrder.Compare(e.Key, after) > 0))
            .Take(limit)
            .Select(e => (e.Key, e.Value.Shard, e.Value.Value));

    public IEnumerable<(ulong Index, Term Term, byte[] Data)> ReadLog(ShardId shard, ulong from, ulong toExclusive) =>
        Log(shard).Where(e => e.Key >= from && e.Key < toExclusive).Select(e => (e.Key, e.Value.Term, e.Value.Data));

    public SiloLogBounds Bounds(ShardId shard) =>
        Log(shard).Count == 0 ? default : new SiloLogBounds(new LogIndex(Log(shard).Keys.First()), new LogIndex(Log(shard).Keys.Last()));

    private SortedDictionary<ulong, (Term Term, byte[] Data)> Log(ShardId shard)
    {
        if (!Logs.TryGetValue(shard, out var log))
        {
            log = [];
            Logs[shard] = log;
        }
        return log;
    }
}
