using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Actor;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Cluster.Runtime;

/// <summary>
/// The edge of <see cref="RestartFormation"/>, at <c>/user/memo-formation</c> on every node. It answers every
/// <see cref="ClusterProbe"/> with whether this node is in a cluster. On a node restarting with other members recorded,
/// it also asks each of them, once per interval, until this node is in a cluster; after each round it feeds what it
/// heard to <see cref="RestartFormation.Decide"/>, and when the rule says form, calls its owner's form action once.
/// </summary>
internal sealed class FormationActor : ReceiveActor, IWithTimers
{
    /// <summary>The actor's name under <c>/user</c>; probes are sent to this path on each recorded member.</summary>
    public const string Name = "memo-formation";

    private const string RoundTimerKey = "round";

    private sealed class Round
    {
        public static readonly Round Instance = new();
    }

    private readonly Func<bool> _inCluster;
    private readonly Probing? _probing;
    private readonly Dictionary<string, long> _answeredAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _answers = new(StringComparer.Ordinal);
    private readonly long _started = Stopwatch.GetTimestamp();
    private string? _lastReason;

    /// <summary>What a restarting node probes and how it forms.</summary>
    /// <param name="Self">This node's remoting endpoint, host:port.</param>
    /// <param name="Recorded">The recorded members' endpoints (host:port) with their Akka addresses.</param>
    /// <param name="Timing">The rule's timing.</param>
    /// <param name="Interval">Time between probe rounds.</param>
    /// <param name="Form">Forms the cluster (called at most once).</param>
    /// <param name="Log">Logs a decision whose reason changed.</param>
    public sealed record Probing(string Self, ImmutableArray<(string HostPort, Address Address)> Recorded, FormationTiming Timing,
        TimeSpan Interval, Action<FormationDecision> Form, Action<FormationDecision> Log);

    public FormationActor(Func<bool> inCluster, Probing? probing)
    {
        _inCluster = inCluster;
        _probing = probing;
        Receive<ClusterProbe>(_ => Sender.Tell(new ClusterProbeAnswer { InCluster = _inCluster() }));
        Receive<ClusterProbeAnswer>(answer =>
        {
            var from = MembershipActor.HostPort(Sender.Path.Address);
            _answers[from] = answer.InCluster;
            _answeredAt[from] = Stopwatch.GetTimestamp();
        });
        Receive<Round>(_ => OnRound());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(Func<bool> inCluster, Probing? probing) => Akka.Actor.Props.Create(() => new FormationActor(inCluster, probing));

    protected override void PreStart()
    {
        if (_probing is not null)
        {
            Timers.StartPeriodicTimer(RoundTimerKey, Round.Instance, TimeSpan.Zero, _probing.Interval);
        }
    }

    private void OnRound()
    {
        var probing = _probing!;
        if (_inCluster())
        {
            // Joined (or formed): the rule has nothing more to decide; keep answering others' probes.
            Timers.Cancel(RoundTimerKey);
            return;
        }
        var now = Stopwatch.GetTimestamp();
        var heard = _answers.ToDictionary(a => a.Key, a => new FormationAnswer(a.Value, Stopwatch.GetElapsedTime(_answeredAt[a.Key], now)), StringComparer.Ordinal);
        var decision = RestartFormation.Decide(probing.Self, probing.Recorded.Select(r => r.HostPort), heard, Stopwatch.GetElapsedTime(_started, now), probing.Timing);
        if (!string.Equals(decision.Reason, _lastReason, StringComparison.Ordinal) && (decision.Form || !SameKind(decision.Reason, _lastReason)))
        {
            probing.Log(decision);
        }
        _lastReason = decision.Reason;
        if (decision.Form)
        {
            Timers.Cancel(RoundTimerKey);
            probing.Form(decision);
            return;
        }
        foreach (var (hostPort, address) in probing.Recorded)
        {
            if (!string.Equals(hostPort, probing.Self, StringComparison.Ordinal))
            {
                Context.ActorSelection(new RootActorPath(address) / "user" / Name).Tell(new ClusterProbe(), Self);
            }
        }
    }

    // Reasons that differ only in their figures (seconds, counts) are one kind: logged once, not every round.
    private static bool SameKind(string a, string? b) =>
        b is not null && string.Equals(Skeleton(a), Skeleton(b), StringComparison.Ordinal);

    private static string Skeleton(string reason) => new([.. reason.Where(c => !char.IsDigit(c) && c != '.')]);
}
