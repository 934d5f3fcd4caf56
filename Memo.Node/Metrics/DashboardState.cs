using System.Text.Json;
using Memo.Admin;
using Memo.Admin.Wire;

namespace Memo.Node.Metrics;

/// <summary>
/// The dashboard's JSON (<c>/ui/state</c>): the same answers <c>memo cluster show</c> and <c>memo cluster shards</c>
/// get from the admin actor (<see cref="Admin.AdminAnswers"/> over the node's published view and shard reports), plus
/// this node's call counts and moves in flight. Pure: it writes what it is given.
/// </summary>
public static class DashboardState
{
    /// <summary>What one node knows, gathered at one moment.</summary>
    /// <param name="Show">The members as this node sees them.</param>
    /// <param name="Shards">Every shard's ring replicas, best-known leader and applied index; this node's replicas.</param>
    /// <param name="Calls">gRPC calls this node answered so far.</param>
    /// <param name="Failures">Of those, the ones that failed.</param>
    /// <param name="MovesInFlight">Shard moves this node leads now.</param>
    /// <param name="Version">The node's version.</param>
    public sealed record Snapshot(ShowResponse Show, ShardsResponse Shards, long Calls, long Failures, int MovesInFlight, string Version);

    /// <summary>Writes <paramref name="state"/> as the dashboard's JSON document.</summary>
    public static byte[] ToJson(Snapshot state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            var show = state.Show;
            json.WriteStartObject();
            json.WriteString("time", now);
            json.WriteStartObject("node");
            json.WriteString("id", show.SelfId);
            json.WriteString("address", show.SelfAddress);
            json.WriteString("version", state.Version);
            json.WriteBoolean("serving", show.Serving);
            json.WriteString("problem", show.Problem);
            json.WriteNumber("calls", state.Calls);
            json.WriteNumber("failures", state.Failures);
            json.WriteNumber("movesInFlight", state.MovesInFlight);
            json.WriteEndObject();

            json.WriteStartObject("network");
            json.WriteString("name", show.NetworkName);
            json.WriteNumber("shardCount", show.ShardCount);
            json.WriteNumber("replicationFactor", show.ReplicationFactor);
            json.WriteNumber("effectiveReplicationFactor", state.Shards.EffectiveReplicationFactor);
            json.WriteString("leader", show.LeaderId);
            json.WriteBoolean("converged", show.Converged);
            json.WriteEndObject();

            json.WriteStartArray("members");
            foreach (var member in show.Members.OrderBy(m => m.Address, StringComparer.Ordinal))
            {
                AdminJson.WriteMember(json, member, show);
            }
            json.WriteEndArray();

            var local = state.Shards.LocalReplicas.ToDictionary(r => r.Shard);
            var underReplicated = 0;
            json.WriteStartArray("shards");
            foreach (var shard in state.Shards.Shards)
            {
                underReplicated += shard.UnderReplicated ? 1 : 0;
                json.WriteStartObject();
                AdminJson.WriteShardFields(json, shard);
                if (local.TryGetValue(shard.Shard, out var mine))
                {
                    json.WriteStartObject("local");
                    json.WriteBoolean("leader", mine.IsLeader);
                    json.WriteNumber("applied", mine.AppliedIndex);
                    // How far this replica's state machine trails the best-known leader's (0 when it leads).
                    json.WriteNumber("lag", shard.AppliedIndex > mine.AppliedIndex ? shard.AppliedIndex - mine.AppliedIndex : 0UL);
                    AdminJson.WriteStrings(json, "voters", mine.Voters);
                    AdminJson.WriteStrings(json, "learners", mine.Learners);
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();

            json.WriteStartObject("rebalancing");
            json.WriteNumber("movesInFlight", state.MovesInFlight);
            json.WriteNumber("underReplicatedShards", underReplicated);
            // Learners are replicas still catching up on their snapshot: a move in progress.
            json.WriteNumber("learners", state.Shards.LocalReplicas.Where(r => r.IsLeader).Sum(r => r.Learners.Count));
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
