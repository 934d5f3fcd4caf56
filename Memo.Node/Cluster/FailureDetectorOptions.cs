using System.Globalization;
using Memo.Node.Configuration;

namespace Memo.Node.Cluster;

/// <summary>Settings of the phi-accrual failure detector (proposed keys <c>memo.cluster.failure-detector</c>; Akka's
/// cluster defaults are threshold 8, 1000 samples, 100ms min deviation, 3s pause, 1s interval and estimate).</summary>
/// <param name="HeartbeatInterval">How often the runtime sends a heartbeat to each monitored peer.</param>
/// <param name="Threshold">Phi at or above which a peer is suspected (8: about one wrong suspicion in 10^8).</param>
/// <param name="MaxSampleSize">Heartbeat intervals kept per peer (the sliding window).</param>
/// <param name="MinStdDeviation">Floor of the interval deviation, so a perfectly regular peer is not suspected the
/// first time a heartbeat is a little late.</param>
/// <param name="AcceptableHeartbeatPause">Added to the mean interval: pauses (GC, load) up to this long are normal.</param>
/// <param name="FirstHeartbeatEstimate">The interval assumed before any interval has been measured.</param>
public sealed record FailureDetectorOptions(
    TimeSpan HeartbeatInterval,
    double Threshold,
    int MaxSampleSize,
    TimeSpan MinStdDeviation,
    TimeSpan AcceptableHeartbeatPause,
    TimeSpan FirstHeartbeatEstimate)
{
    internal const string Path = "memo.cluster.failure-detector";

    /// <summary>Every rule the values break; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var v = new OptionsValidator();
        Validate(v);
        return v.Problems;
    }

    internal void Validate(OptionsValidator v)
    {
        v.DurationRange($"{Path}.heartbeat-interval", HeartbeatInterval, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        v.Require(Threshold is > 0 and <= 1000, $"{Path}.threshold", Threshold.ToString(CultureInfo.InvariantCulture), "must be above 0 and at most 1000");
        v.Range($"{Path}.max-sample-size", MaxSampleSize, 1, 100_000);
        v.DurationRange($"{Path}.min-std-deviation", MinStdDeviation, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        v.DurationRange($"{Path}.acceptable-heartbeat-pause", AcceptableHeartbeatPause, TimeSpan.Zero, TimeSpan.FromHours(1));
        v.DurationRange($"{Path}.first-heartbeat-estimate", FirstHeartbeatEstimate, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
    }
}
