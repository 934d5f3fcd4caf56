namespace Memo.Node.Cluster;

// Design note: the phi-accrual failure detector (Hayashibara et al., "The phi accrual failure detector", 2004; as in
// Akka and Cassandra). Instead of a yes/no timeout it keeps the recent heartbeat intervals of one peer and answers
// phi = -log10(P(an interval at least this long)), assuming intervals are normally distributed with the window's
// mean (plus an acceptable pause) and deviation (at least a floor). phi = 1 means a 10% chance that the peer is
// fine and merely late, phi = 8 about 1 in 10^8. The normal tail uses the logistic approximation
// 1 / (1 + e^(-y (1.5976 + 0.070566 y^2))), error below 0.00014.
//
// Time is logical: the runtime passes milliseconds from its own monotonic clock into Heartbeat and Phi, which
// keeps the detector deterministic and testable with hand-computed values.

/// <summary>
/// Suspicion level of one peer from the arrival times of its heartbeats (see the design note above). Not
/// thread-safe: owned by one actor.
/// </summary>
public sealed class PhiAccrualFailureDetector
{
    private readonly FailureDetectorOptions _options;
    private readonly long[] _intervals;
    private int _count;
    private int _next;
    private long _sum;
    private Int128 _sumOfSquares;
    private long? _last;

    /// <summary>A detector that has heard nothing yet (phi 0: no evidence against the peer).</summary>
    public PhiAccrualFailureDetector(FailureDetectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid failure detector options: " + string.Join("; ", problems), nameof(options));
        }
        _options = options;
        _intervals = new long[options.MaxSampleSize];
    }

    /// <summary>True once a heartbeat has arrived.</summary>
    public bool IsMonitoring => _last is not null;

    /// <summary>When the last heartbeat arrived, in the caller's logical milliseconds.</summary>
    public long? LastHeartbeatMillis => _last;

    /// <summary>Intervals in the window (including the two seeded from the first-heartbeat estimate).</summary>
    public int SampleCount => _count;

    /// <summary>Mean of the intervals in the window, without the acceptable pause.</summary>
    public double MeanIntervalMillis => _count == 0 ? 0 : (double)_sum / _count;

    /// <summary>Standard deviation of the intervals in the window, without the floor.</summary>
    public double StdDeviationMillis
    {
        get
        {
            if (_count == 0)
            {
                return 0;
            }
            var mean = (double)_sum / _count;
            var variance = (double)_sumOfSquares / _count - mean * mean;
            return variance <= 0 ? 0 : Math.Sqrt(variance);
        }
    }

    /// <summary>
    /// Records a heartbeat arriving at <paramref name="nowMillis"/>. The first one seeds the window with the
    /// first-heartbeat estimate; later ones add their interval, except one that ends a period of suspicion, whose
    /// long interval would distort the statistics. Throws if time goes backwards.
    /// </summary>
    public void Heartbeat(long nowMillis)
    {
        if (_last is not { } last)
        {
            // No interval yet: assume the estimate with a deviation of a quarter of it (Akka's choice).
            var estimate = (long)_options.FirstHeartbeatEstimate.TotalMilliseconds;
            var deviation = estimate / 4;
            Add(estimate - deviation);
            Add(estimate + deviation);
        }
        else
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(nowMillis, last);
            if (IsAvailable(nowMillis))
            {
                Add(nowMillis - last);
            }
        }
        _last = nowMillis;
    }

    /// <summary>The suspicion level at <paramref name="nowMillis"/>: 0 before any heartbeat; grows without bound
    /// (up to +infinity) while heartbeats stay away.</summary>
    public double Phi(long nowMillis)
    {
        if (_last is not { } last)
        {
            return 0;
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(nowMillis, last);
        var mean = MeanIntervalMillis + _options.AcceptableHeartbeatPause.TotalMilliseconds;
        var deviation = Math.Max(StdDeviationMillis, _options.MinStdDeviation.TotalMilliseconds);
        return PhiOf(nowMillis - last, mean, deviation);
    }

    /// <summary>True while <see cref="Phi"/> is below the threshold.</summary>
    public bool IsAvailable(long nowMillis) => Phi(nowMillis) < _options.Threshold;

    /// <summary>-log10 of the probability that an interval of a normal distribution (<paramref name="mean"/>,
    /// <paramref name="deviation"/>) is longer than <paramref name="elapsed"/>.</summary>
    internal static double PhiOf(double elapsed, double mean, double deviation)
    {
        var y = (elapsed - mean) / deviation;
        var e = Math.Exp(-y * (1.5976 + 0.070566 * y * y));
        // Two forms of the same value, each accurate on its side of the mean (no cancellation near 1).
        return elapsed > mean ? -Math.Log10(e / (1.0 + e)) : -Math.Log10(1.0 - 1.0 / (1.0 + e));
    }

    private void Add(long interval)
    {
        if (_count == _intervals.Length)
        {
            var dropped = _intervals[_next];
            _sum -= dropped;
            _sumOfSquares -= (Int128)dropped * dropped;
        }
        else
        {
            _count++;
        }
        _intervals[_next] = interval;
        _next = (_next + 1) % _intervals.Length;
        _sum += interval;
        _sumOfSquares += (Int128)interval * interval;
    }
}
