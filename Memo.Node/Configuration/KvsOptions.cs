using System.Collections.Frozen;

namespace Memo.Node.Configuration;

/// <summary>Limits of the key-value store API (<c>memo.kvs</c>).</summary>
/// <param name="MaxKeyBytes">Longest key, in bytes of UTF-8.</param>
/// <param name="MaxValueBytes">Largest value, in bytes.</param>
/// <param name="MaxListKeys">Cap on the <c>maxKeys</c> a List request may ask for.</param>
/// <param name="DefaultListKeys">Keys a List request returns when it does not say.</param>
/// <param name="ReadConsistency">Whether Fetch confirms leadership (ReadIndex) or may answer from a local replica.</param>
/// <param name="InlineValueBytes">Values up to this size keep their immutable block inside the key's entry.</param>
/// <param name="MaxListRows">Work budget of one List call: most stored rows a node reads for it.</param>
/// <param name="WriteConsistency">Whether an Upsert is acknowledged once a majority holds it or once the key shard's leader does.</param>
public sealed record KvsOptions(int MaxKeyBytes, long MaxValueBytes, int MaxListKeys, int DefaultListKeys,
    ReadConsistency ReadConsistency = ReadConsistency.Linearizable, long InlineValueBytes = 4096, int MaxListRows = 100_000,
    WriteConsistency WriteConsistency = WriteConsistency.Majority)
{
    internal const string Path = "memo.kvs";

    private static readonly System.Collections.Frozen.FrozenDictionary<string, ReadConsistency> ConsistencyChoices =
        new Dictionary<string, ReadConsistency>(StringComparer.Ordinal)
        {
            ["linearizable"] = ReadConsistency.Linearizable,
            ["stale"] = ReadConsistency.Stale,
        }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, WriteConsistency> WriteConsistencyChoices =
        new Dictionary<string, WriteConsistency>(StringComparer.Ordinal)
        {
            ["majority"] = WriteConsistency.Majority,
            ["async"] = WriteConsistency.Async,
        }.ToFrozenDictionary(StringComparer.Ordinal);

    internal static KvsOptions Read(OptionsReader r) => new(
        r.Int32($"{Path}.max-key-bytes"),
        r.Bytes($"{Path}.max-value-bytes"),
        r.Int32($"{Path}.max-list-keys"),
        r.Int32($"{Path}.default-list-keys"),
        r.Choice($"{Path}.read-consistency", ConsistencyChoices),
        r.Bytes($"{Path}.inline-value-bytes"),
        r.Int32($"{Path}.max-list-rows"),
        r.Choice($"{Path}.write-consistency", WriteConsistencyChoices));

    internal void Validate(OptionsValidator v)
    {
        v.Range($"{Path}.max-key-bytes", MaxKeyBytes, 1, 65536);
        v.SizeRange($"{Path}.max-value-bytes", MaxValueBytes, 1, int.MaxValue);
        v.Range($"{Path}.max-list-keys", MaxListKeys, 1, 1_000_000);
        v.Range($"{Path}.default-list-keys", DefaultListKeys, 1, Math.Max(1, MaxListKeys));
        v.SizeRange($"{Path}.inline-value-bytes", InlineValueBytes, 0, 1024 * 1024);
        // A full page reads at least one row per item, plus one to know whether more follow.
        v.Range($"{Path}.max-list-rows", MaxListRows, Math.Max(1, MaxListKeys) + 1L, 100_000_000);
    }
}
