using System.Diagnostics;
using System.Globalization;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Shards;

/// <summary>
/// What keeping versions costs a key's apply: every write parses the stored entry and writes it back with its kept
/// versions, so for inline values the work and the entry grow with N. Figures only (printed, never asserted against
/// time); docs/ARCHITECTURE.md, "Policies: versioning", quotes them.
/// </summary>
public sealed class VersioningCostFigures(ITestOutputHelper output)
{
    [Fact]
    public void Apply_cost_and_entry_size_per_write_by_versions_kept_are_printed()
    {
        using var owner = MemoKeyPair.Generate();
        // 64 distinct 256-byte values (a bench-sized value), sealed once: the figure is the state machine's, not signing's.
        var blocks = Enumerable.Range(0, 64).Select(i => BlockFactory.MakeImmutable(Enumerable.Repeat((byte)i, 256).ToArray(), owner.PublicKey)).ToArray();
        foreach (var keep in new uint[] { 1, 2, 4, 8, 16, 32 })
        {
            byte[]? stored = null;
            const int warmup = 200, writes = 4000;
            var clock = new Stopwatch();
            for (var i = 0; i < warmup + writes; i++)
            {
                if (i == warmup)
                {
                    clock.Start();
                }
                var block = blocks[i % blocks.Length];
                var command = new ShardCommand
                {
                    Format = ShardStateMachine.Format,
                    WriteEntry = new WriteEntry { Key = "k", ValueAddress = block.Address, ValueBlock = block, KeepVersions = keep > 1 ? keep : 0 },
                };
                stored = ShardStateMachine.Decide(command, stored).NewValue;
            }
            clock.Stop();
            var entry = KvEntry.Parser.ParseFrom(stored);
            Assert.Equal((int)keep - 1, entry.OlderVersions.Count);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"versions {keep,2}: {clock.Elapsed.TotalMicroseconds / writes,7:F1} µs per write in Decide (parse, check, encode), entry {stored!.Length,6} bytes"));
        }
    }
}
