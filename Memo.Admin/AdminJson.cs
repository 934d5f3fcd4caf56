using System.Text.Json;
using Memo.Admin.Wire;

namespace Memo.Admin;

/// <summary>
/// The JSON rows of a member and of a shard, written the same way by <c>memo cluster show|shards --json</c> and the
/// node's dashboard (<c>/ui/state</c>), so a script and the page read one shape.
/// </summary>
public static class AdminJson
{
    /// <summary>Writes <paramref name="member"/> as an object: id, address, status, reachable, upNumber, leader (the
    /// cluster's), self (whether it is the answering node), roles.</summary>
    public static void WriteMember(Utf8JsonWriter json, MemberInfo member, ShowResponse show)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(member);
        ArgumentNullException.ThrowIfNull(show);
        json.WriteStartObject();
        json.WriteString("id", member.Id);
        json.WriteString("address", member.Address);
        json.WriteString("status", member.Status.ToString().ToLowerInvariant());
        json.WriteBoolean("reachable", member.Reachable);
        json.WriteNumber("upNumber", member.UpNumber);
        json.WriteBoolean("leader", member.Id == show.LeaderId);
        json.WriteBoolean("self", member.Id == show.SelfId);
        // Roles carry, e.g., the member's Akka remoting address ("remote=host:port").
        WriteStrings(json, "roles", member.Roles);
        json.WriteEndObject();
    }

    /// <summary>Writes the fields of <paramref name="shard"/> into the object the caller opened: shard, replicas, leader,
    /// applied, underReplicated, and keys and bytes when the leader's count is known (the caller may add its own fields
    /// before closing it).</summary>
    public static void WriteShardFields(Utf8JsonWriter json, ShardInfo shard)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(shard);
        json.WriteNumber("shard", shard.Shard);
        WriteStrings(json, "replicas", shard.Replicas);
        json.WriteString("leader", shard.LeaderId);
        json.WriteNumber("applied", shard.AppliedIndex);
        json.WriteBoolean("underReplicated", shard.UnderReplicated);
        if (shard.HasKeys)
        {
            json.WriteNumber("keys", shard.Keys);
        }
        if (shard.HasBytes)
        {
            json.WriteNumber("bytes", shard.Bytes);
        }
    }

    /// <summary>Writes a named array of strings.</summary>
    public static void WriteStrings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(values);
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }
        json.WriteEndArray();
    }
}
