using System.Numerics;

namespace Memo.Cli.Bench;

/// <summary>
/// A log-bucketed latency histogram in whole microseconds, in the manner of HdrHistogram: values below 256 have a
/// bucket each; above, every power-of-two range is cut into 128 equal buckets, so a value is known to within 1/128
/// (under 0.8 %) of itself. Recording is an array increment: one histogram per worker, no locks, merged at the end.
/// </summary>
/// <remarks>
/// Index of a value v &lt; 256 is v. For v ≥ 256 with highest set bit e (e ≥ 8), shift = e − 7 and the top eight bits
/// t = v &gt;&gt; shift lie in [128, 256); the index is 256 + (shift − 1)·128 + (t − 128). Percentiles report the
/// highest value of the bucket they fall in (as HdrHistogram does), clamped to the recorded maximum.
/// </remarks>
internal sealed class LatencyHistogram
{
    /// <summary>Values at or above this (about 12.7 days) are recorded as this.</summary>
    public const long HighestTrackable = (1L << 40) - 1;

    private const int SubBucketBits = 8;
    private const int SubBucketCount = 1 << SubBucketBits;       // 256 exact values
    private const int HalfSubBucketCount = SubBucketCount / 2;    // 128 buckets per power of two above them

    /// <summary>Number of buckets needed up to <see cref="HighestTrackable"/>.</summary>
    public static readonly int BucketCount = IndexOf(HighestTrackable) + 1;

    private readonly long[] _counts = new long[BucketCount];

    /// <summary>Number of values recorded.</summary>
    public long Count { get; private set; }

    /// <summary>Smallest value recorded (after clamping); 0 when empty.</summary>
    public long Min { get; private set; }

    /// <summary>Largest value recorded (after clamping); 0 when empty.</summary>
    public long Max { get; private set; }

    /// <summary>Sum of the values recorded, for the mean (exact, not bucketed).</summary>
    public double Sum { get; private set; }

    /// <summary>The exact mean of the values recorded; 0 when empty.</summary>
    public double Mean => Count == 0 ? 0 : Sum / Count;

    /// <summary>Records one latency in microseconds; negative values count as 0, huge ones as <see cref="HighestTrackable"/>.</summary>
    public void Record(long microseconds)
    {
        var v = Math.Clamp(microseconds, 0, HighestTrackable);
        _counts[IndexOf(v)]++;
        if (Count == 0 || v < Min)
        {
            Min = v;
        }
        if (v > Max)
        {
            Max = v;
        }
        Count++;
        Sum += v;
    }

    /// <summary>Adds every value recorded in <paramref name="other"/> to this histogram.</summary>
    public void Merge(LatencyHistogram other)
    {
        if (other.Count == 0)
        {
            return;
        }
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }
        Min = Count == 0 ? other.Min : Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        Count += other.Count;
        Sum += other.Sum;
    }

    /// <summary>
    /// The value below or at which <paramref name="percentile"/> percent of the recorded values fall (0..100), as the
    /// highest value of its bucket, clamped to the recorded range; 0 when empty.
    /// </summary>
    public long ValueAtPercentile(double percentile)
    {
        if (double.IsNaN(percentile) || percentile < 0 || percentile > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "A percentile is between 0 and 100.");
        }
        if (Count == 0)
        {
            return 0;
        }
        // The rank of the wanted value, 1-based: at least the first value, at most the last.
        var rank = Math.Clamp((long)Math.Ceiling(percentile / 100.0 * Count), 1, Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Clamp(HighestEquivalent(i), Min, Max);
            }
        }
        return Max;
    }

    /// <summary>The bucket index of a value in [0, <see cref="HighestTrackable"/>].</summary>
    public static int IndexOf(long value)
    {
        if (value < SubBucketCount)
        {
            return (int)value;
        }
        var highestBit = 63 - BitOperations.LeadingZeroCount((ulong)value);
        var shift = highestBit - (SubBucketBits - 1);
        var top = (int)(value >> shift);
        return SubBucketCount + (shift - 1) * HalfSubBucketCount + (top - HalfSubBucketCount);
    }

    /// <summary>The smallest value that falls in bucket <paramref name="index"/>.</summary>
    public static long LowestEquivalent(int index)
    {
        if (index < SubBucketCount)
        {
            return index;
        }
        var j = index - SubBucketCount;
        var shift = j / HalfSubBucketCount + 1;
        var top = (long)(j % HalfSubBucketCount + HalfSubBucketCount);
        return top << shift;
    }

    /// <summary>The largest value that falls in bucket <paramref name="index"/>.</summary>
    public static long HighestEquivalent(int index) =>
        index + 1 < BucketCount ? LowestEquivalent(index + 1) - 1 : HighestTrackable;
}
