using Memo.Cli.Bench;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Cli;

public class LatencyHistogramTests(ITestOutputHelper output)
{
    // A bucket above 255 is at most value/128 wide, so a reported value is within this of the true one.
    private const double BucketError = 1.0 / 128;

    [Fact]
    public void Values_below_256_microseconds_are_exact()
    {
        var h = new LatencyHistogram();
        for (var v = 0; v < 256; v++)
        {
            h.Record(v);
        }
        Assert.Equal(256, h.Count);
        Assert.Equal(127, h.ValueAtPercentile(50));
        Assert.Equal(0, h.ValueAtPercentile(0));
        Assert.Equal(255, h.ValueAtPercentile(100));
        Assert.Equal(127.5, h.Mean);
    }

    [Fact]
    public void Percentiles_of_uniform_data_are_within_the_bucket_error()
    {
        var h = new LatencyHistogram();
        for (var v = 1; v <= 100_000; v++)
        {
            h.Record(v);
        }
        // Nearest-rank percentiles of 1..100000 are the rank itself.
        foreach (var (p, exact) in new[] { (50.0, 50_000L), (90.0, 90_000L), (99.0, 99_000L), (99.9, 99_900L) })
        {
            var reported = h.ValueAtPercentile(p);
            Assert.True(reported >= exact && reported <= exact * (1 + BucketError), $"p{p}: reported {reported}, exact {exact}");
        }
        Assert.Equal(100_000, h.ValueAtPercentile(100));
        Assert.Equal(1, h.Min);
        Assert.Equal(100_000, h.Max);
        Assert.Equal(50_000.5, h.Mean);
    }

    [Fact]
    public void A_skewed_distribution_reports_its_tail()
    {
        var h = new LatencyHistogram();
        for (var i = 0; i < 990; i++)
        {
            h.Record(1_000);
        }
        for (var i = 0; i < 10; i++)
        {
            h.Record(250_000);
        }
        Assert.InRange(h.ValueAtPercentile(50), 1_000, 1_000 * (1 + BucketError));
        Assert.InRange(h.ValueAtPercentile(99), 1_000, 1_000 * (1 + BucketError));
        Assert.InRange(h.ValueAtPercentile(99.9), 250_000, 250_000 * (1 + BucketError));
        Assert.Equal(250_000, h.Max);
    }

    [Fact]
    public void Every_value_falls_in_a_bucket_that_contains_it_and_is_at_most_1_128th_of_it_wide()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        for (var i = 0; i < 100_000; i++)
        {
            var v = (long)Math.Pow(2, random.NextDouble() * 40);
            v = Math.Min(v, LatencyHistogram.HighestTrackable);
            var index = LatencyHistogram.IndexOf(v);
            var low = LatencyHistogram.LowestEquivalent(index);
            var high = LatencyHistogram.HighestEquivalent(index);
            Assert.True(low <= v && v <= high, $"seed {seed}: {v} outside bucket {index} [{low}, {high}]");
            Assert.True(high - low + 1 <= Math.Max(1, v * BucketError), $"seed {seed}: bucket {index} [{low}, {high}] too wide for {v}");
        }
    }

    [Fact]
    public void Buckets_tile_the_range_without_gaps()
    {
        for (var i = 0; i < LatencyHistogram.BucketCount - 1; i++)
        {
            Assert.Equal(LatencyHistogram.HighestEquivalent(i) + 1, LatencyHistogram.LowestEquivalent(i + 1));
            Assert.Equal(i, LatencyHistogram.IndexOf(LatencyHistogram.LowestEquivalent(i)));
            Assert.Equal(i, LatencyHistogram.IndexOf(LatencyHistogram.HighestEquivalent(i)));
        }
        Assert.Equal(LatencyHistogram.HighestTrackable, LatencyHistogram.HighestEquivalent(LatencyHistogram.BucketCount - 1));
    }

    [Fact]
    public void Merging_per_worker_histograms_equals_recording_everything_in_one()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var all = new LatencyHistogram();
        var workers = Enumerable.Range(0, 4).Select(_ => new LatencyHistogram()).ToArray();
        for (var i = 0; i < 40_000; i++)
        {
            var v = (long)(random.NextDouble() * random.NextDouble() * 2_000_000);
            all.Record(v);
            workers[i % 4].Record(v);
        }
        var merged = new LatencyHistogram();
        foreach (var w in workers)
        {
            merged.Merge(w);
        }
        Assert.Equal(all.Count, merged.Count);
        Assert.Equal(all.Min, merged.Min);
        Assert.Equal(all.Max, merged.Max);
        Assert.Equal(all.Mean, merged.Mean, 6);
        foreach (var p in new[] { 0.0, 10, 50, 90, 99, 99.9, 99.99, 100 })
        {
            Assert.Equal(all.ValueAtPercentile(p), merged.ValueAtPercentile(p));
        }
    }

    [Fact]
    public void Merging_an_empty_histogram_changes_nothing_and_merging_into_one_copies()
    {
        var h = new LatencyHistogram();
        h.Record(500);
        h.Record(700);
        h.Merge(new LatencyHistogram());
        Assert.Equal((2L, 500L, 700L), (h.Count, h.Min, h.Max));

        var empty = new LatencyHistogram();
        empty.Merge(h);
        Assert.Equal((2L, 500L, 700L), (empty.Count, empty.Min, empty.Max));
        Assert.Equal(h.ValueAtPercentile(50), empty.ValueAtPercentile(50));
    }

    [Fact]
    public void Out_of_range_values_are_clamped()
    {
        var h = new LatencyHistogram();
        h.Record(-5);
        h.Record(long.MaxValue);
        Assert.Equal(0, h.Min);
        Assert.Equal(LatencyHistogram.HighestTrackable, h.Max);
        Assert.Equal(LatencyHistogram.HighestTrackable, h.ValueAtPercentile(100));
    }

    [Fact]
    public void An_empty_histogram_reports_zero()
    {
        var h = new LatencyHistogram();
        Assert.Equal(0, h.ValueAtPercentile(99));
        Assert.Equal(0, h.Mean);
        Assert.Throws<ArgumentOutOfRangeException>(() => h.ValueAtPercentile(101));
    }
}
