using System.Collections.Immutable;

namespace Memo.Node.Cluster.Runtime;

// Design note: how a whole cluster restarted at once forms again by itself (docs/ARCHITECTURE.md, "Whole-cluster
// restart").
//
// A node that was a member never forms a cluster the moment it starts: if the others were still running one, it would
// make a second cluster (the restarted-seed island). It rejoins through the members it recorded, and meanwhile asks
// each of them whether it is in a cluster. The rule, after Akka.Management's cluster bootstrap (contact points; the
// lowest address forms when none of them is in a cluster and enough of them answered), with the recorded members as
// the contact points:
//   1. a recorded member that answers "in a cluster" ends it: the node keeps joining (it joins that cluster);
//   2. a majority of the recorded members (this node counts, it knows its own answer) must have answered "not in a
//      cluster" recently; then no majority can be running a cluster, and no cluster can be made by anyone else without
//      one of those answering members;
//   3. of the members that answered, the lowest address forms; every other node keeps joining and joins it;
//   4. a recorded member with a lower address than this node that did not answer must have been silent for a while
//      (it may be a slow node about to answer and form itself): only then is it passed over.
// Rule 3 makes one former per answering set, and rule 4 makes the answering sets of concurrent deciders agree on their
// lowest member unless a lower one stayed silent through the whole wait. The decision is pure: the probing actor
// (FormationActor) feeds it what it heard and when.

/// <summary>What a restarting node heard from one recorded member when it asked whether it is in a cluster.</summary>
/// <param name="InCluster">The member's last answer: true when it is a member of a cluster (any live status).</param>
/// <param name="Age">How long ago that answer arrived.</param>
public readonly record struct FormationAnswer(bool InCluster, TimeSpan Age);

/// <summary>The timing of the rule: how often a restarting node asks, how recent an answer must be to count, and how
/// long a lower member must stay silent before it is passed over.</summary>
/// <param name="ProbeInterval">Time between two rounds of questions to the recorded members.</param>
/// <param name="Fresh">An answer older than this no longer counts (the member may have changed since).</param>
/// <param name="Silence">A recorded member with a lower address must have sent nothing for this long (and the node must
/// have been asking for this long) before a higher one forms without it.</param>
public sealed record FormationTiming(TimeSpan ProbeInterval, TimeSpan Fresh, TimeSpan Silence)
{
    /// <summary>A round a second, answers fresh for 3 s, 10 s of silence: three rounds may be lost before an answer
    /// lapses, and a lower member gets ten rounds to show up.</summary>
    public static FormationTiming Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(10));
}

/// <summary>What a restarting node should do now.</summary>
/// <param name="Form">True: form the cluster (join itself); false: keep joining through the recorded members.</param>
/// <param name="Reason">Why, for the log.</param>
public readonly record struct FormationDecision(bool Form, string Reason)
{
    internal static FormationDecision Join(string reason) => new(false, reason);
}

/// <summary>
/// The rule by which a node restarting on its data folder, with other members recorded there, decides to form the
/// cluster again itself (see the design note above). Pure: no clock, no I/O.
/// </summary>
public static class RestartFormation
{
    /// <summary>Decides whether <paramref name="self"/> forms the cluster now.</summary>
    /// <param name="self">This node's remoting endpoint (host:port), as the members record it.</param>
    /// <param name="recorded">The recorded members' remoting endpoints (this node's may be among them).</param>
    /// <param name="answers">The last answer of each recorded member that answered at all, by endpoint.</param>
    /// <param name="askingFor">How long this node has been asking.</param>
    /// <param name="timing">Freshness and silence bounds.</param>
    public static FormationDecision Decide(string self, IEnumerable<string> recorded, IReadOnlyDictionary<string, FormationAnswer> answers,
        TimeSpan askingFor, FormationTiming timing)
    {
        ArgumentException.ThrowIfNullOrEmpty(self);
        ArgumentNullException.ThrowIfNull(recorded);
        ArgumentNullException.ThrowIfNull(answers);
        ArgumentNullException.ThrowIfNull(timing);
        var members = recorded.Append(self).ToImmutableSortedSet(StringComparer.Ordinal);
        var others = members.Remove(self);
        if (others.IsEmpty)
        {
            // Only this node was recorded: it was alone, and forms alone as before.
            return new FormationDecision(true, "it was the only recorded member");
        }
        var inCluster = others.Where(m => answers.TryGetValue(m, out var a) && a.InCluster && a.Age <= timing.Fresh).ToList();
        if (inCluster.Count > 0)
        {
            return FormationDecision.Join($"{string.Join(", ", inCluster)} {(inCluster.Count == 1 ? "is" : "are")} in a cluster: joining it");
        }
        var majority = (members.Count / 2) + 1;
        var notInCluster = others.Where(m => answers.TryGetValue(m, out var a) && !a.InCluster && a.Age <= timing.Fresh).Append(self)
            .ToImmutableSortedSet(StringComparer.Ordinal);
        if (notInCluster.Count < majority)
        {
            return FormationDecision.Join($"{notInCluster.Count} of {members.Count} recorded members (this one included) said they are in no cluster; a majority ({majority}) must before anyone forms");
        }
        var lowest = notInCluster.Min!;
        if (!string.Equals(lowest, self, StringComparison.Ordinal))
        {
            return FormationDecision.Join($"{notInCluster.Count} of {members.Count} recorded members are in no cluster; the lowest of them, {lowest}, forms it");
        }
        foreach (var lower in others.Where(m => StringComparer.Ordinal.Compare(m, self) < 0))
        {
            // Not among the fresh answers (else it would be the lowest): silent lately, or never heard from.
            var silent = answers.TryGetValue(lower, out var last) ? last.Age : askingFor;
            if (silent < timing.Silence)
            {
                return FormationDecision.Join($"{lower}, a lower recorded member, {(answers.ContainsKey(lower) ? "answered" : "was asked")} {silent.TotalSeconds:0.#} s ago; it may still form, so this node waits {timing.Silence.TotalSeconds:0.#} s of its silence");
            }
        }
        return new FormationDecision(true,
            $"{notInCluster.Count} of {members.Count} recorded members ({string.Join(", ", notInCluster)}) are in no cluster, and this node has the lowest address of them");
    }
}
