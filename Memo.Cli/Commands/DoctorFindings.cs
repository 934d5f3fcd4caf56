using Memo.Admin.Wire;

namespace Memo.Cli.Commands;

/// <summary>How bad one finding of <c>memo doctor</c> is.</summary>
internal enum DoctorLevel
{
    /// <summary>The check passed.</summary>
    Ok,

    /// <summary>Works, but something should be looked at.</summary>
    Warn,

    /// <summary>Broken: the fix says what to do.</summary>
    Fail,
}

/// <summary>One finding: the check, what was seen, and what to do about it (empty when nothing).</summary>
internal sealed record DoctorFinding(DoctorLevel Level, string Check, string Message, string Fix = "");

/// <summary>
/// The cluster checks of <c>memo doctor</c>, pure: from the admin answers (<c>memo cluster show</c> and <c>shards</c>)
/// to findings with fixes. The reachability and TLS checks need the network and live in <see cref="DoctorCommand"/>.
/// </summary>
internal static class DoctorFindings
{
    /// <summary>Versions: this CLI against the node (same major and minor version expected).</summary>
    public static DoctorFinding Versions(string cliVersion, string nodeVersion)
    {
        if (nodeVersion.Length == 0)
        {
            return new(DoctorLevel.Warn, "versions", $"the node does not say its version (older than this CLI, {cliVersion})",
                "upgrade the node to this CLI's version");
        }
        return MajorMinor(cliVersion) == MajorMinor(nodeVersion)
            ? new(DoctorLevel.Ok, "versions", $"CLI {Short(cliVersion)}, node {Short(nodeVersion)}")
            : new(DoctorLevel.Warn, "versions", $"CLI {Short(cliVersion)} and node {Short(nodeVersion)} differ",
                "install the same version of both (dotnet tool update memo, or the node from the same release)");
    }

    /// <summary>Membership as the node sees it: serving, convergence, every member Up and reachable.</summary>
    public static IEnumerable<DoctorFinding> Cluster(ShowResponse show)
    {
        if (!show.Serving)
        {
            yield return new(DoctorLevel.Fail, "serving", $"node {show.SelfId} ({show.SelfAddress}) does not serve: {Or(show.Problem, "no reason given")}",
                show.Members.Count == 0 || show.Problem.Contains("not a member", StringComparison.Ordinal)
                    ? "check its --seed names a running member's remoting endpoint (memo.node.seeds), or join it: memo cluster join <seed>"
                    : "it was downed or left: start it again on an empty data folder to join as a new member");
        }
        else
        {
            yield return new(DoctorLevel.Ok, "serving", $"node {show.SelfId} ({show.SelfAddress}) serves; network '{show.NetworkName}', {show.Members.Count} members");
        }
        foreach (var member in show.Members)
        {
            var status = member.Status.ToString().ToLowerInvariant();
            if (!member.Reachable && member.Status is not (MemberStatus.Removed or MemberStatus.Down))
            {
                yield return new(DoctorLevel.Fail, "members", $"member {member.Id} ({member.Address}, {status}) is unreachable",
                    $"check that it runs and that its remoting port is reachable from the others; if it is gone for good: memo cluster down {member.Id}");
            }
            else if (member.Status == MemberStatus.Down)
            {
                yield return new(DoctorLevel.Warn, "members", $"member {member.Id} ({member.Address}) is down; it is removed once the others agree",
                    "nothing to do unless it stays: start a replacement node on an empty data folder");
            }
            else if (member.Status is MemberStatus.Joining or MemberStatus.Leaving or MemberStatus.Exiting)
            {
                yield return new(DoctorLevel.Warn, "members", $"member {member.Id} ({member.Address}) is {status}",
                    "usually passes within seconds; if it lasts, look for unreachable members (the leader waits for convergence)");
            }
        }
        if (show.Serving && !show.Converged)
        {
            yield return new(DoctorLevel.Warn, "members", "the members do not agree on the membership yet (gossip not converged)",
                "wait a few seconds; if it lasts, an unreachable member holds it: bring it back or memo cluster down it");
        }
        else if (show.Serving && show.Members.All(m => m.Reachable && m.Status == MemberStatus.Up))
        {
            yield return new(DoctorLevel.Ok, "members", $"all {show.Members.Count} members up and reachable");
        }
    }

    /// <summary>Shards: every shard with a leader, none under-replicated.</summary>
    public static IEnumerable<DoctorFinding> Shards(ShardsResponse shards)
    {
        var leaderless = shards.Shards.Where(s => s.LeaderId.Length == 0).Select(s => s.Shard).ToList();
        var under = shards.Shards.Count(s => s.UnderReplicated);
        if (leaderless.Count > 0)
        {
            yield return new(DoctorLevel.Fail, "shards", $"{leaderless.Count} of {shards.ShardCount} shards have no known leader ({Some(leaderless)}): their keys cannot be written",
                "wait a few seconds after a membership change; if it lasts, a majority of their replicas is down: bring nodes back (memo cluster shards shows which)");
        }
        if (under > 0)
        {
            yield return new(DoctorLevel.Warn, "shards", $"{under} of {shards.ShardCount} shards have fewer replicas than the replication factor ({shards.EffectiveReplicationFactor} of {shards.ReplicationFactor})",
                $"add nodes until there are {shards.ReplicationFactor} Up members");
        }
        if (leaderless.Count == 0 && under == 0)
        {
            yield return new(DoctorLevel.Ok, "shards", $"all {shards.ShardCount} shards have a leader and {shards.EffectiveReplicationFactor} replicas");
        }
    }

    private static string Some(List<int> shards) =>
        string.Join(", ", shards.Take(8)) + (shards.Count > 8 ? $", ... {shards.Count - 8} more" : "");

    private static string Or(string text, string otherwise) => text.Length > 0 ? text : otherwise;

    private static string Short(string version) => version.Split('+')[0];

    private static string MajorMinor(string version)
    {
        var parts = Short(version).Split('.');
        return parts.Length >= 2 ? parts[0] + "." + parts[1] : Short(version);
    }
}
