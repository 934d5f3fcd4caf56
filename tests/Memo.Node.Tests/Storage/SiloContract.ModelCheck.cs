using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Microsoft.FSharp.Core;

namespace Memo.Node.Tests.Storage;

/// <summary>Model-based check: random batches applied to a silo and to <see cref="SiloModel"/> read the same.</summary>
public abstract partial class SiloContract
{
    // Small domains so that batches collide: the same keys, addresses, shards and indexes come back often.
    private static readonly string[] _modelKeys =
        ["", "a", "ab", "a%", "a_", "a%b", "a_b", "b", "é", "éa", "\uE000", "\uFFFF", "\uFFFFa", "😀", "😀a", "\U0010FFFF", "\U0010FFFFa", "a\0b"];

    private static readonly string[] _modelPrefixes = ["", "a", "a%", "a_", "ab", "a\0", "é", "\uFFFF", "😀", "\U0010FFFF", "\uD7FF", "zz"];

    private static readonly string[] _metaNames = ["node", "network", "ñ"];

    private static readonly BlockAddress[] _modelAddresses = [Address(1), Address(2), Address(3), Address(4)];

    private const int ModelShards = 3;
    private const ulong ModelMaxIndex = 12;

    /// <summary>How many random scenarios the model check runs (each on a fresh silo).</summary>
    protected virtual int ModelCheckCases => 100;

    [Fact]
    public async Task Random_batches_read_and_scan_the_same_as_a_naive_model()
    {
        var seedText = Environment.GetEnvironmentVariable("MEMO_TEST_SEED");
        var seed = seedText is null ? (ulong)Random.Shared.NextInt64() : ulong.Parse(seedText, CultureInfo.InvariantCulture);
        Output.WriteLine($"model check seed {seed} (replay with MEMO_TEST_SEED={seed})");

        var config = Config.QuickThrowOnFailure
            .WithMaxTest(ModelCheckCases)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None)));
        var property = Prop.ForAll(Scenarios().ToArbitrary(), scenario => RunScenarioAsync(scenario).GetAwaiter().GetResult());
        // Off the test's synchronisation context: the property blocks on the silo's tasks.
        await Task.Run(() => Check.One(config, property));
    }

    private async Task RunScenarioAsync(ModelScenario scenario)
    {
        var silo = await CreateSiloAsync();
        try
        {
            var model = new SiloModel();
            // All batches in flight at once: FIFO order must make them land as if applied one after the other.
            var commits = new List<Task>();
            foreach (var operations in scenario.Batches)
            {
                var batch = new SiloBatch();
                foreach (var operation in operations)
                {
                    Add(batch, operation);
                    model.Apply(operation);
                }
                commits.Add(silo.CommitAsync(batch));
            }
            await Task.WhenAll(commits);
            await CompareAsync(silo, model);
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }

    private static async Task CompareAsync(ISilo silo, SiloModel model)
    {
        foreach (var key in _modelKeys)
        {
            Assert.Equal(model.Entries.TryGetValue(key, out var entry) ? entry.Value : null, await silo.ReadEntryAsync(key));
        }
        foreach (var prefix in _modelPrefixes)
        {
            foreach (var after in _modelKeys.Prepend(null))
            {
                foreach (var limit in new[] { 1, 3, 100 })
                {
                    var expected = model.Scan(prefix, after, limit).ToList();
                    var actual = await silo.ScanEntriesAsync(prefix, after, limit);
                    Assert.True(
                        expected.Select(e => (e.Key, e.Shard, Convert.ToHexString(e.Value))).SequenceEqual(actual.Select(e => (e.Key, e.Shard, Convert.ToHexString(e.Value)))),
                        $"scan(prefix {Show(prefix)}, after {(after is null ? "null" : Show(after))}, limit {limit}): expected [{string.Join(", ", expected.Select(e => Show(e.Key)))}] but got [{string.Join(", ", actual.Select(e => Show(e.Key)))}]");
                }
            }
        }
        foreach (var address in _modelAddresses)
        {
            Assert.Equal(model.Blocks.TryGetValue(address, out var block) ? block.Data : null, await silo.ReadBlockAsync(address));
        }
        foreach (var name in _metaNames)
        {
            Assert.Equal(model.Meta.GetValueOrDefault(name), await silo.ReadMetaAsync(name));
        }
        for (var s = 0; s < ModelShards; s++)
        {
            var shard = new ShardId(s);
            Assert.Equal(model.RaftStates.GetValueOrDefault(shard), await silo.ReadRaftStateAsync(shard));
            Assert.Equal(model.Bounds(shard), await silo.ReadLogBoundsAsync(shard));
            foreach (var (from, to) in new (ulong, ulong)[] { (0, ulong.MaxValue), (3, 9), (5, 6), (ModelMaxIndex, ModelMaxIndex + 5), (7, 2) })
            {
                var expected = model.ReadLog(shard, from, to).Select(e => (e.Index, e.Term, Convert.ToHexString(e.Data)));
                var actual = (await silo.ReadLogAsync(shard, new LogIndex(from), new LogIndex(to))).Select(e => (e.Index.Value, e.Term, Convert.ToHexString(e.Data)));
                Assert.Equal(expected, actual);
            }
        }
    }

    private static void Add(SiloBatch batch, SiloOperation operation)
    {
        _ = operation switch
        {
            SiloOperation.PutBlock op => batch.PutBlock(op.Shard, op.Address, op.Data),
            SiloOperation.DeleteBlock op => batch.DeleteBlock(op.Address),
            SiloOperation.PutEntry op => batch.PutEntry(op.Shard, op.Key, op.Value),
            SiloOperation.DeleteEntry op => batch.DeleteEntry(op.Key),
            SiloOperation.PutMeta op => batch.PutMeta(op.Name, op.Value),
            SiloOperation.PutRaftState op => batch.PutRaftState(op.Shard, op.State),
            SiloOperation.AppendLog op => batch.AppendLog(op.Shard, op.Index, op.Term, op.Data),
            SiloOperation.TruncateLogAfter op => batch.TruncateLogAfter(op.Shard, op.LastKept),
            SiloOperation.CompactLogThrough op => batch.CompactLogThrough(op.Shard, op.Through),
            SiloOperation.ClearShard op => batch.ClearShard(op.Shard),
            _ => throw new ArgumentOutOfRangeException(nameof(operation)),
        };
    }

    private static Gen<ModelScenario> Scenarios()
    {
        var shards = Gen.Choose(0, ModelShards - 1).Select(s => new ShardId(s));
        var keys = Gen.Elements(_modelKeys);
        var values = Gen.Choose(0, 20).Select(n => n == 0 ? Array.Empty<byte>() : Encoding.UTF8.GetBytes($"v{n}"));
        var addresses = Gen.Elements(_modelAddresses);
        var indexes = Gen.Choose(0, (int)ModelMaxIndex).Select(i => new LogIndex((ulong)i));
        var operations = Gen.Frequency(
            (8, from shard in shards from key in keys from value in values select (SiloOperation)new SiloOperation.PutEntry(shard, key, value)),
            (3, keys.Select(key => (SiloOperation)new SiloOperation.DeleteEntry(key))),
            (3, from shard in shards from address in addresses from value in values select (SiloOperation)new SiloOperation.PutBlock(shard, address, value)),
            (1, addresses.Select(address => (SiloOperation)new SiloOperation.DeleteBlock(address))),
            (1, from name in Gen.Elements(_metaNames) from value in values select (SiloOperation)new SiloOperation.PutMeta(name, value)),
            (1, from shard in shards from value in values select (SiloOperation)new SiloOperation.PutRaftState(shard, value)),
            (6, from shard in shards from index in indexes.Where(i => i != LogIndex.Zero) from term in Gen.Choose(1, 4) from value in values
                select (SiloOperation)new SiloOperation.AppendLog(shard, index, new Term((ulong)term), value)),
            (1, from shard in shards from index in indexes select (SiloOperation)new SiloOperation.TruncateLogAfter(shard, index)),
            (1, from shard in shards from index in indexes select (SiloOperation)new SiloOperation.CompactLogThrough(shard, index)),
            (1, shards.Select(shard => (SiloOperation)new SiloOperation.ClearShard(shard))));
        var batch = Gen.Choose(0, 8).SelectMany(n => Gen.ListOf(operations, n)).Select(ops => (IReadOnlyList<SiloOperation>)ops.ToArray());
        return Gen.Choose(1, 10).SelectMany(n => Gen.ListOf(batch, n)).Select(batches => new ModelScenario(batches.ToArray()));
    }

    private static string Show(string key) =>
        "\"" + string.Concat(key.EnumerateRunes().Select(r => r.Value is >= 0x20 and < 0x7F ? r.ToString() : $"\\u{{{r.Value:X}}}")) + "\"";

    /// <summary>A generated case: batches committed in this order. Prints readably when FsCheck reports it.</summary>
    private sealed record ModelScenario(IReadOnlyList<IReadOnlyList<SiloOperation>> Batches)
    {
        public override string ToString() =>
            string.Join(" | ", Batches.Select(b => "[" + string.Join("; ", b.Select(Describe)) + "]"));

        private static string Describe(SiloOperation operation) => operation switch
        {
            SiloOperation.PutEntry op => $"PutEntry({op.Shard}, {Show(op.Key)}, {Encoding.UTF8.GetString(op.Value)})",
            SiloOperation.DeleteEntry op => $"DeleteEntry({Show(op.Key)})",
            SiloOperation.PutBlock op => $"PutBlock({op.Shard}, #{op.Address.Prefix >> 32}, {Encoding.UTF8.GetString(op.Data)})",
            SiloOperation.DeleteBlock op => $"DeleteBlock(#{op.Address.Prefix >> 32})",
            SiloOperation.PutMeta op => $"PutMeta({op.Name}, {Encoding.UTF8.GetString(op.Value)})",
            SiloOperation.PutRaftState op => $"PutRaftState({op.Shard}, {Encoding.UTF8.GetString(op.State)})",
            SiloOperation.AppendLog op => $"AppendLog({op.Shard}, {op.Index}, t{op.Term}, {Encoding.UTF8.GetString(op.Data)})",
            SiloOperation.TruncateLogAfter op => $"TruncateLogAfter({op.Shard}, {op.LastKept})",
            SiloOperation.CompactLogThrough op => $"CompactLogThrough({op.Shard}, {op.Through})",
            SiloOperation.ClearShard op => $"ClearShard({op.Shard})",
            _ => operation.ToString(),
        };
    }
}
