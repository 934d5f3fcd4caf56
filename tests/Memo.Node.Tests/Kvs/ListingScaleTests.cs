using System.Diagnostics;
using System.Globalization;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Kvs;

/// <summary>Listings with a delimiter over many common prefixes on a real node (SQLite, every shard a Raft group).</summary>
public sealed class ListingScaleTests(ITestOutputHelper output)
{
    private const int Prefixes = 4_000;
    private const int Keys = 10_000;

    [Fact]
    public async Task Ten_thousand_keys_under_four_thousand_common_prefixes_list_as_four_thousand_prefixes()
    {
        await using var node = await TestNode.StartAsync();
        using var client = node.Client();
        var value = new byte[16];
        var next = -1;
        async Task WriterAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Keys)
            {
                await client.UpsertAsync(KeyOf(i), value);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(WriterAsync)));
        var expected = Enumerable.Range(0, Prefixes).Select(p => $"dir{p:D4}/").ToList();

        // One page as large as the node allows (10,000), then pages of the default size (1,000).
        foreach (var pageSize in (ulong[])[10_000, 1_000])
        {
            var prefixes = new List<string>();
            var marker = "";
            var pages = 0;
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var page = await client.ListAsync("", marker, "/", pageSize);
                pages++;
                Assert.Empty(page.Items);
                prefixes.AddRange(page.Prefixes);
                if (!page.Truncated)
                {
                    break;
                }
                marker = page.NextMarker;
                Assert.True(pages < 100, $"the listing did not end after {pages} pages of {pageSize}");
            }
            clock.Stop();
            Assert.Equal(expected, prefixes);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Keys} keys under {Prefixes} common prefixes, delimiter '/', pages of {pageSize}: {pages} pages in {clock.Elapsed.TotalSeconds:F2} s"));
        }
    }

    // Key i goes under prefix i mod 4,000: 2 or 3 keys per prefix, inserted in an order unrelated to key order.
    private static string KeyOf(int i) => $"dir{i % Prefixes:D4}/key{i:D5}";
}
