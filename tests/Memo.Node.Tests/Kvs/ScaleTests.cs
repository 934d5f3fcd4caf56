using System.Diagnostics;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Kvs;

public sealed class ScaleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task One_hundred_thousand_keys_insert_and_list_page_by_page()
    {
        const int Keys = 100_000;
        const int Concurrency = 64;
        await using var node = await TestNode.StartAsync();
        using var client = node.Client();
        var value = new byte[64];

        // Warm up (JIT, thread pool, HTTP/2 connections) so the tenths below compare steady states.
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(w => Task.Run(async () =>
        {
            for (var j = 0; j < 40; j++)
            {
                await client.UpsertAsync($"warmup/{w}/{j}", value);
            }
        })));

        // Throughput per tenth of the keys, for the log only: the per-write cost must not grow with the key count.
        var tenth = Keys / 10;
        var next = -1;
        var done = 0;
        var marks = new long[11];
        var clock = Stopwatch.StartNew();
        async Task WriterAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Keys)
            {
                Assert.True(await client.InsertAsync($"scale/{i:D6}", value), $"insert of key {i} reported the key as existing");
                var completed = Interlocked.Increment(ref done);
                if (completed % tenth == 0)
                {
                    marks[completed / tenth] = clock.ElapsedTicks;
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(WriterAsync)));
        var rates = Enumerable.Range(1, 10).Select(t => tenth / ((marks[t] - marks[t - 1]) / (double)Stopwatch.Frequency)).ToArray();
        output.WriteLine($"inserted {Keys} keys at concurrency {Concurrency} in {clock.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"inserts/s per tenth: {string.Join(" ", rates.Select(r => r.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))}");
        output.WriteLine($"last tenth / first tenth = {rates[9] / rates[0]:F2}");

        var listed = new List<string>(Keys);
        var marker = "";
        var pages = 0;
        while (true)
        {
            var page = await client.ListAsync("scale/", marker, "", 1000);
            pages++;
            listed.AddRange(page.Items.Select(i => i.Key));
            Assert.True(page.Items.Count == 1000 || !page.Truncated, $"page {pages} has {page.Items.Count} keys but says it is truncated");
            if (!page.Truncated)
            {
                break;
            }
            marker = page.Items[^1].Key;
        }
        Assert.Equal(100, pages);
        Assert.Equal(Enumerable.Range(0, Keys).Select(i => $"scale/{i:D6}"), listed);
    }
}
