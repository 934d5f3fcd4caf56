using Memo.Node.Configuration;

namespace Memo.Node.Cluster.Runtime;

/// <summary>The <c>memo.cluster</c> section: the pure cores' settings plus the runtime's own timing and bounds.</summary>
/// <param name="Core">Virtual nodes, member limit, gossip target choice and failure detector (the cores' settings).</param>
/// <param name="GossipInterval">How often the node gossips with one peer (Akka's gossip-interval).</param>
/// <param name="JoinRetryMin">First wait before asking the seeds again after a failed join round.</param>
/// <param name="JoinRetryMax">Cap of the exponential join back-off.</param>
/// <param name="MailboxCapacity">Bound of the membership actor's mailbox; inbound gossip beyond it is dropped (gossip
/// repeats every interval, so a drop costs one round).</param>
public sealed record ClusterRuntimeOptions(
    ClusterOptions Core,
    TimeSpan GossipInterval,
    TimeSpan JoinRetryMin,
    TimeSpan JoinRetryMax,
    int MailboxCapacity)
{
    internal const string Path = "memo.cluster";

    /// <summary>Every rule the values break; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var v = new OptionsValidator();
        Validate(v);
        return v.Problems;
    }

    internal static ClusterRuntimeOptions Read(OptionsReader r)
    {
        const string fd = Path + ".failure-detector";
        var detector = new FailureDetectorOptions(
            r.Duration($"{fd}.heartbeat-interval"),
            r.Double($"{fd}.threshold"),
            r.Int32($"{fd}.max-sample-size"),
            r.Duration($"{fd}.min-std-deviation"),
            r.Duration($"{fd}.acceptable-heartbeat-pause"),
            r.Duration($"{fd}.first-heartbeat-estimate"));
        var core = new ClusterOptions(
            r.Int32($"{Path}.virtual-nodes-per-member"),
            r.Int32($"{Path}.max-members"),
            r.Double($"{Path}.gossip-prefer-unseen-probability"),
            detector);
        return new ClusterRuntimeOptions(
            core,
            r.Duration($"{Path}.gossip-interval"),
            r.Duration($"{Path}.join-retry-min"),
            r.Duration($"{Path}.join-retry-max"),
            r.Int32($"{Path}.mailbox-capacity"));
    }

    internal void Validate(OptionsValidator v)
    {
        Core.Validate(v);
        v.DurationRange($"{Path}.gossip-interval", GossipInterval, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        v.DurationRange($"{Path}.join-retry-min", JoinRetryMin, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        v.DurationRange($"{Path}.join-retry-max", JoinRetryMax, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        v.Require(JoinRetryMax >= JoinRetryMin, $"{Path}.join-retry-max", OptionsValidator.ShowDuration(JoinRetryMax),
            $"must be at least {Path}.join-retry-min ({OptionsValidator.ShowDuration(JoinRetryMin)})");
        v.Range($"{Path}.mailbox-capacity", MailboxCapacity, 16, 1_048_576);
    }
}
