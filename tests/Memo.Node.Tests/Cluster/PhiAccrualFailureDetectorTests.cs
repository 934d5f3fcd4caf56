using Memo.Node.Cluster;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

/// <summary>
/// Expected values are computed by hand from phi = -log10(P(interval > t)) with the logistic tail
/// e = exp(-y (1.5976 + 0.070566 y^2)), y = (t - mean) / deviation:
///   y = 0  -> e = 1,                          phi = -log10(1 - 1/2)       = 0.30103
///   y = 1  -> e = exp(-1.668166),             phi = -log10(e / (1 + e))   = 0.79951
///   y = 2  -> e = exp(-3.760528),             phi                         = 1.64283
///   y = 4  -> e = exp(-10.906624),            phi                         = 4.73669
///   y = 5  -> e = exp(-16.808750),            phi                         = 7.29995
///   y = 10 -> e = exp(-86.542),               phi                         = 37.58471
/// </summary>
public sealed class PhiAccrualFailureDetectorTests
{
    private const double Tolerance = 1e-4;

    /// <summary>A detector that has heard heartbeats exactly every second long enough for the three-slot window to hold
    /// only 1000ms intervals: mean 1000, deviation 0, so the 100ms floor applies.</summary>
    private static PhiAccrualFailureDetector Regular(int acceptablePauseMillis = 0)
    {
        var detector = new PhiAccrualFailureDetector(Detector(maxSampleSize: 3, acceptablePauseMillis: acceptablePauseMillis));
        for (var t = 0L; t <= 3000; t += 1000)
        {
            detector.Heartbeat(t);
        }
        Assert.Equal(1000, detector.MeanIntervalMillis);
        Assert.Equal(0, detector.StdDeviationMillis);
        return detector;
    }

    [Fact]
    public void Before_any_heartbeat_phi_is_zero_and_the_peer_is_available()
    {
        var detector = new PhiAccrualFailureDetector(Detector());
        Assert.False(detector.IsMonitoring);
        Assert.Equal(0, detector.Phi(1_000_000));
        Assert.True(detector.IsAvailable(1_000_000));
    }

    [Fact]
    public void The_first_heartbeat_seeds_the_window_with_the_estimate_plus_and_minus_a_quarter()
    {
        var detector = new PhiAccrualFailureDetector(Detector(firstEstimateMillis: 1000));
        detector.Heartbeat(5000);
        Assert.Equal(2, detector.SampleCount);
        Assert.Equal(1000, detector.MeanIntervalMillis); // 750 and 1250
        Assert.Equal(250, detector.StdDeviationMillis);
        Assert.Equal(0.30103, detector.Phi(6000), Tolerance); // y = 0
        Assert.Equal(1.64283, detector.Phi(6500), Tolerance); // y = 2
        Assert.Equal(4.73669, detector.Phi(7000), Tolerance); // y = 4
    }

    [Fact]
    public void Phi_grows_as_the_next_heartbeat_is_late()
    {
        var detector = Regular();
        Assert.Equal(0.0, detector.Phi(3500), Tolerance); // far before the mean
        Assert.Equal(0.30103, detector.Phi(4000), Tolerance);
        Assert.Equal(0.79951, detector.Phi(4100), Tolerance);
        Assert.Equal(1.64283, detector.Phi(4200), Tolerance);
        Assert.Equal(7.29995, detector.Phi(4500), Tolerance);
        Assert.Equal(37.58471, detector.Phi(5000), Tolerance);
    }

    [Fact]
    public void The_peer_is_suspected_once_phi_reaches_the_threshold()
    {
        var detector = Regular();
        Assert.True(detector.IsAvailable(4500)); // 7.3 < 8
        Assert.False(detector.IsAvailable(4600)); // y = 6: phi ~ 10.8
        Assert.False(detector.IsAvailable(100_000)); // phi is +infinity here
        Assert.Equal(double.PositiveInfinity, detector.Phi(100_000));
    }

    [Fact]
    public void The_acceptable_pause_shifts_the_mean()
    {
        var detector = Regular(acceptablePauseMillis: 3000);
        Assert.Equal(0.30103, detector.Phi(7000), Tolerance); // mean 1000 + 3000
        Assert.Equal(7.29995, detector.Phi(7500), Tolerance);
        Assert.True(detector.IsAvailable(7500));
    }

    [Fact]
    public void The_window_slides_and_drops_the_oldest_interval()
    {
        var detector = new PhiAccrualFailureDetector(Detector(maxSampleSize: 3));
        detector.Heartbeat(0); // [750, 1250]
        detector.Heartbeat(1000); // [750, 1250, 1000]
        Assert.Equal(3, detector.SampleCount);
        detector.Heartbeat(2200); // [1250, 1000, 1200]
        Assert.Equal(3, detector.SampleCount);
        Assert.Equal((1250 + 1000 + 1200) / 3.0, detector.MeanIntervalMillis, 9);
        detector.Heartbeat(3000); // [1000, 1200, 800]
        Assert.Equal(1000, detector.MeanIntervalMillis, 9);
        Assert.Equal(Math.Sqrt((0 + 200.0 * 200 + 200.0 * 200) / 3), detector.StdDeviationMillis, 6);
    }

    [Fact]
    public void The_interval_that_ends_a_suspicion_is_not_learned()
    {
        var detector = Regular();
        Assert.False(detector.IsAvailable(13_000));
        detector.Heartbeat(13_000); // a 10s gap after a pause or partition would skew the statistics
        Assert.Equal(1000, detector.MeanIntervalMillis);
        Assert.Equal(13_000, detector.LastHeartbeatMillis);
        Assert.True(detector.IsAvailable(14_000));
    }

    [Fact]
    public void Time_going_backwards_is_a_caller_bug()
    {
        var detector = Regular();
        Assert.Throws<ArgumentOutOfRangeException>(() => detector.Heartbeat(2999));
        Assert.Throws<ArgumentOutOfRangeException>(() => detector.Phi(2999));
    }

    [Fact]
    public void Invalid_options_are_refused_with_every_problem()
    {
        var options = Detector(threshold: 0, maxSampleSize: 0);
        Assert.Equal(2, options.Validate().Count);
        var e = Assert.Throws<ArgumentException>(() => new PhiAccrualFailureDetector(options));
        Assert.Contains("threshold", e.Message);
        Assert.Contains("max-sample-size", e.Message);
    }

    [Fact]
    public void The_registry_keeps_one_detector_per_peer()
    {
        var registry = new FailureDetectorRegistry(Detector(maxSampleSize: 3));
        var (a, b) = (Id(1), Id(2));
        for (var t = 0L; t <= 3000; t += 1000)
        {
            registry.Heartbeat(a, t);
        }
        registry.Heartbeat(b, 3000);
        Assert.Equal(new HashSet<NodeId> { a, b }, registry.Monitored.ToHashSet());
        Assert.Equal(7.29995, registry.Phi(a, 4500), Tolerance);
        Assert.Equal(0.30103, registry.Phi(b, 4000), Tolerance); // b still runs on the first estimate
        Assert.False(registry.IsAvailable(a, 4600));
        Assert.True(registry.IsAvailable(b, 4600));

        Assert.True(registry.IsAvailable(Id(3), 1_000_000)); // never heard of: nothing against it
        Assert.Equal(0, registry.Phi(Id(3), 1_000_000));
        Assert.True(registry.Remove(a));
        Assert.False(registry.IsMonitoring(a));
        Assert.True(registry.IsAvailable(a, 1_000_000));
        registry.Clear();
        Assert.Empty(registry.Monitored);
    }
}
