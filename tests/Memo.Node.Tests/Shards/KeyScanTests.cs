using Memo.Node.Shards.Scanning;
using Memo.Node.Storage;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Shards;

/// <summary>The listing walk and merge against a naive model, with several nodes each leading part of the keys.</summary>
public sealed class KeyScanTests(ITestOutputHelper output)
{
    // Seed 13 found a real bug: a position past a common prefix was a key bound (prefix + U+10FFFF), which a stored
    // key continuing with U+10FFFF passes, so a walk that passed over such a row took a later listed key's prefix for
    // one already returned and dropped it. MEMO_TEST_SEED=random explores.
    [Theory]
    [InlineData(13)]
    [InlineData(768470204)]
    [InlineData(1507974812)]
    [InlineData(1748380611)]
    public void Paging_through_walks_of_several_nodes_lists_every_key_and_prefix_once_for_any_budget_and_page_size(int fixedSeed) =>
        PagingListsEveryItemOnce(fixedSeed);

    private void PagingListsEveryItemOnce(int fixedSeed)
    {
        var seed = Environment.GetEnvironmentVariable("MEMO_TEST_SEED") switch
        {
            "random" => Random.Shared.Next(),
            { } s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture),
            null => fixedSeed,
        };
        output.WriteLine($"seed {seed} (MEMO_TEST_SEED={seed} replays)");
        var random = new Random(seed);
        string[] alphabet = ["a", "b", "/", "c", "\U0010FFFF"];
        string RandomKey() => string.Concat(Enumerable.Range(0, random.Next(1, 7)).Select(_ => alphabet[random.Next(alphabet.Length)]));

        for (var round = 0; round < 300; round++)
        {
            var nodes = random.Next(1, 4);
            var keys = new SortedSet<string>(EntryKeyOrder.Comparer);
            while (keys.Count < random.Next(0, 120))
            {
                keys.Add(RandomKey());
            }
            // Each node stores the keys it leads, plus stale rows of shards it does not lead: some real keys, some
            // keys the leader has deleted. Only the leader's rows may be listed.
            // A hash of our own: string.GetHashCode is randomized per process, which made a fixed seed replay differently.
            int LeaderOf(string key) => (int)(key.Aggregate(2166136261u, (h, c) => (h ^ c) * 16777619u) % (uint)nodes);
            var stored = Enumerable.Range(0, nodes).Select(n =>
            {
                var rows = new SortedDictionary<string, bool>(EntryKeyOrder.Comparer);
                foreach (var key in keys)
                {
                    if (LeaderOf(key) == n)
                    {
                        rows[key] = true;
                    }
                    else if (random.Next(2) == 0)
                    {
                        rows[key] = false;
                    }
                }
                for (var i = 0; i < random.Next(0, 20); i++)
                {
                    var phantom = RandomKey();
                    if (!keys.Contains(phantom) && LeaderOf(phantom) != n)
                    {
                        rows[phantom] = false;
                    }
                }
                return rows;
            }).ToList();

            var prefix = random.Next(3) == 0 ? "" : string.Concat(Enumerable.Range(0, random.Next(0, 3)).Select(_ => "ab/c"[random.Next(4)]));
            var delimiter = random.Next(3) == 0 ? "" : random.Next(2) == 0 ? "/" : "b/";
            var limit = random.Next(1, 12);
            var budget = random.Next(1, 30);
            var context = $"round {round}: {nodes} nodes, prefix '{prefix}' delimiter '{delimiter}' limit {limit} budget {budget}";

            var listed = new List<ScanItem>();
            var marker = "";
            for (var page = 0; ; page++)
            {
                Assert.True(page < 10_000, $"{context}: the listing does not end");
                var scan = new KeyScan(prefix, KeyScan.PositionOfMarker(prefix, delimiter, marker), delimiter, limit, budget);
                var result = KeyScanMerge.Merge(stored.Select(rows => Walk(rows, scan)), limit);
                Assert.True(result.Items.Count <= limit, $"{context}: page {page} has {result.Items.Count} items");
                listed.AddRange(result.Items);
                if (!result.Truncated)
                {
                    break;
                }
                var next = result.Next!.Value;
                var before = KeyScan.PositionOfMarker(prefix, delimiter, marker);
                Assert.True(before is null || ScanPosition.Compare(next, before.Value) > 0, $"{context}: page {page} does not advance past '{marker}' (next {next})");
                // The marker handed to the client must stand for exactly the position the page ended at.
                Assert.Equal(next, KeyScan.PositionOfMarker(prefix, delimiter, next.Key));
                marker = next.Key;
            }
            var expected = Naive(keys, prefix, delimiter);
            Assert.True(expected.SequenceEqual(listed), $"{context}:\n listed   {string.Join(" ", listed.Select(Show))}\n expected {string.Join(" ", expected.Select(Show))}");
        }
    }

    [Fact]
    public void A_walk_seeks_past_a_rolled_up_prefix_and_reads_each_row_at_most_once()
    {
        var rows = new SortedDictionary<string, bool>(EntryKeyOrder.Comparer);
        for (var p = 0; p < 50; p++)
        {
            for (var k = 0; k < 1000; k++)
            {
                rows[$"d{p:D2}/{k:D4}"] = true;
            }
        }
        var scan = new KeyScan("", null, "/", 100, 1_000_000);
        var reads = 0;
        var result = Walk(rows, scan, page => reads += page);
        Assert.Equal(Enumerable.Range(0, 50).Select(p => new ScanItem($"d{p:D2}/", true)), result.Items);
        Assert.Null(result.ResumeAfter);
        // 50 prefixes of 1,000 keys each: a walk through every key would read 50,000 rows.
        Assert.True(reads < 50 * 1024 / 8, $"the walk read {reads} rows for 50 common prefixes");
        output.WriteLine($"50 common prefixes over 50,000 keys: {reads} rows read");
    }

    [Fact]
    public void A_walk_that_spends_its_budget_stops_with_a_position_past_what_it_read()
    {
        var rows = new SortedDictionary<string, bool>(EntryKeyOrder.Comparer);
        for (var k = 0; k < 100; k++)
        {
            rows[$"k{k:D3}"] = k % 10 == 0; // this node leads one key in ten
        }
        var result = Walk(rows, new KeyScan("", null, "", 50, 25), _ => { });
        Assert.Equal(["k000", "k010", "k020"], result.Items.Select(i => i.Text));
        Assert.Equal(new ScanPosition("k024", false), result.ResumeAfter);
    }

    [Fact]
    public void A_walk_does_not_stop_right_after_a_passed_over_key_that_reads_as_a_common_prefix()
    {
        var rows = new SortedDictionary<string, bool>(EntryKeyOrder.Comparer) { ["a/"] = false, ["a/x"] = false, ["b"] = true };
        var result = Walk(rows, new KeyScan("", null, "/", 10, 1), _ => { });
        // Resuming after the marker "a/" would skip "a/x", which another node may list.
        Assert.Equal(new ScanPosition("a/x", false), result.ResumeAfter);
    }

    [Fact]
    public void Markers_that_are_common_prefixes_of_the_listing_resume_past_every_key_under_them()
    {
        Assert.Equal(new ScanPosition("p/a/", true), KeyScan.PositionOfMarker("p/", "/", "p/a/"));
        Assert.Equal(new ScanPosition("p/a/b", false), KeyScan.PositionOfMarker("p/", "/", "p/a/b"));
        Assert.Equal(new ScanPosition("p/a/b/", false), KeyScan.PositionOfMarker("p/", "/", "p/a/b/"));
        Assert.Equal(new ScanPosition("q/a/", false), KeyScan.PositionOfMarker("p/", "/", "q/a/"));
        Assert.Equal(new ScanPosition("p/a/", false), KeyScan.PositionOfMarker("p/", "", "p/a/"));
        Assert.Null(KeyScan.PositionOfMarker("p/", "/", ""));
    }

    // The silo's contract: rows strictly after the bound (from the prefix when the bound is before it), in key order.
    private static KeyScanResult Walk(SortedDictionary<string, bool> rows, KeyScan scan, Action<int>? onPage = null)
    {
        var walk = new KeyScanWalk(scan);
        while (!walk.IsDone)
        {
            var asked = walk.NextPageRows;
            var position = walk.Position;
            var page = rows.Where(r => r.Key.StartsWith(scan.Prefix, StringComparison.Ordinal) && position?.Covers(r.Key) != true)
                .Take(asked).ToList();
            onPage?.Invoke(page.Count);
            foreach (var (key, led) in page)
            {
                if (!walk.Offer(key, led))
                {
                    break;
                }
            }
            walk.EndPage(page.Count, asked);
        }
        return walk.Result();
    }

    private static List<ScanItem> Naive(SortedSet<string> keys, string prefix, string delimiter)
    {
        var items = new List<ScanItem>();
        foreach (var key in keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var cut = delimiter.Length == 0 ? -1 : key.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
            var item = cut < 0 ? new ScanItem(key, false) : new ScanItem(key[..(cut + delimiter.Length)], true);
            if (!items.Contains(item))
            {
                items.Add(item);
            }
        }
        return items;
    }

    private static string Show(ScanItem item) => item.IsPrefix ? $"[{item.Text}]" : item.Text;
}
